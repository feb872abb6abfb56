//! DescribeConfigs (key 32): "what are the settings of this topic (or broker)?" — v0 to v3.
//!
//! A resource is a (type, name) pair: type 2 is a topic, 4 a broker. The answer lists each
//! config with its value and its *source*: set on the topic, a broker setting, or Kafka's
//! default. v0 has an `is_default` flag instead of the source; v1 adds the source and the
//! synonyms (the other places the same setting could come from); v3 adds the type and the
//! documentation. v4 is the first flexible version.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// Resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// Resource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// Where a config's value comes from (Kafka's `ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the broker at start-up (`zc serve` flags; Kafka: server.properties).
    StaticBroker,
    /// Kafka's built-in default.
    Default,
}

impl ConfigSource {
    pub const fn code(self) -> i8 {
        match self {
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }

    fn from_code(code: i8) -> Option<Self> {
        [ConfigSource::StaticBroker, ConfigSource::Default]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// DescribeConfigs request, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsRequest {
    pub resources: Vec<DescribeConfigsResource>,
    /// v1+.
    pub include_synonyms: bool,
    /// v3+.
    pub include_documentation: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsResource {
    pub resource_type: i8,
    pub resource_name: String,
    /// Null: every config.
    pub configuration_keys: Option<Vec<String>>,
}

impl DescribeConfigsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let resources = r.array_of("describe_configs.resources", 7, |r| {
            Ok(DescribeConfigsResource {
                resource_type: r.i8("describe_configs.resource_type")?,
                resource_name: r.string("describe_configs.resource_name")?,
                configuration_keys: r.nullable_array(
                    "describe_configs.configuration_keys",
                    2,
                    |r| r.string("describe_configs.configuration_key"),
                )?,
            })
        })?;
        let include_synonyms = version >= 1 && r.bool("describe_configs.include_synonyms")?;
        let include_documentation =
            version >= 3 && r.bool("describe_configs.include_documentation")?;
        Ok(DescribeConfigsRequest {
            resources,
            include_synonyms,
            include_documentation,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.array_of(&self.resources, |w, res| {
            w.i8(res.resource_type);
            w.string(&res.resource_name);
            w.nullable_array_of(res.configuration_keys.as_deref(), |w, k| w.string(k));
        });
        if version >= 1 {
            w.bool(self.include_synonyms);
        }
        if version >= 3 {
            w.bool(self.include_documentation);
        }
    }
}

/// DescribeConfigs response, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<DescribeConfigsResult>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeConfigsResult {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<ConfigEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub source: ConfigSource,
    /// Kafka's `ConfigType` (v3+): 2 string, 3 int, 5 long...
    pub config_type: i8,
    /// v3+, when asked for.
    pub documentation: Option<String>,
}

impl DescribeConfigsResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.throttle_time_ms);
        w.array_of(&self.results, |w, res| {
            w.i16(res.error_code.code());
            w.nullable_string(res.error_message.as_deref());
            w.i8(res.resource_type);
            w.string(&res.resource_name);
            w.array_of(&res.configs, |w, c| {
                w.string(&c.name);
                w.nullable_string(c.value.as_deref());
                w.bool(c.read_only);
                if version == 0 {
                    w.bool(c.source == ConfigSource::Default);
                } else {
                    w.i8(c.source.code());
                }
                w.bool(false); // is_sensitive: nothing zc has is secret
                if version >= 1 {
                    w.array_len(0); // synonyms: each setting has one source here
                }
                if version >= 3 {
                    w.i8(c.config_type);
                    w.nullable_string(c.documentation.as_deref());
                }
            });
        });
    }
}

impl DecodeResponse<'_> for DescribeConfigsResponse {
    const API_KEY: ApiKey = ApiKey::DescribeConfigs;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = r.i32("describe_configs.throttle_time_ms")?;
        let results = r.array_of("describe_configs.results", 13, |r| {
            let error_code = read_error_code(r, "describe_configs.error_code")?;
            let error_message = r.nullable_string("describe_configs.error_message")?;
            let resource_type = r.i8("describe_configs.resource_type")?;
            let resource_name = r.string("describe_configs.resource_name")?;
            let configs = r.array_of("describe_configs.configs", 6, |r| {
                let name = r.string("describe_configs.name")?;
                let value = r.nullable_string("describe_configs.value")?;
                let read_only = r.bool("describe_configs.read_only")?;
                let source = if version == 0 {
                    if r.bool("describe_configs.is_default")? {
                        ConfigSource::Default
                    } else {
                        ConfigSource::StaticBroker
                    }
                } else {
                    // Sources zc never sends (topic or dynamic configs) read as broker ones.
                    ConfigSource::from_code(r.i8("describe_configs.config_source")?)
                        .unwrap_or(ConfigSource::StaticBroker)
                };
                r.bool("describe_configs.is_sensitive")?;
                if version >= 1 {
                    r.array_of("describe_configs.synonyms", 4, |r| {
                        r.string("describe_configs.synonym.name")?;
                        r.nullable_string("describe_configs.synonym.value")?;
                        r.i8("describe_configs.synonym.source")
                    })?;
                }
                let (config_type, documentation) = if version >= 3 {
                    (
                        r.i8("describe_configs.config_type")?,
                        r.nullable_string("describe_configs.documentation")?,
                    )
                } else {
                    (0, None)
                };
                Ok(ConfigEntry {
                    name,
                    value,
                    read_only,
                    source,
                    config_type,
                    documentation,
                })
            })?;
            Ok(DescribeConfigsResult {
                error_code,
                error_message,
                resource_type,
                resource_name,
                configs,
            })
        })?;
        Ok(DescribeConfigsResponse {
            throttle_time_ms,
            results,
        })
    }
}
