//! Request and response headers: the few bytes that say what the body means.
//!
//! ```text
//! request header v1 (every non-flexible request):
//!   api_key int16 | api_version int16 | correlation_id int32 | client_id nullable string
//! request header v2 (flexible requests; here ApiVersions v3+ and FindCoordinator v3+):
//!   the v1 fields | tagged fields
//! response header v0 (non-flexible responses, and every ApiVersions response):
//!   correlation_id int32
//! response header v1 (the other flexible responses: FindCoordinator v3+):
//!   correlation_id int32 | tagged fields
//! ```
//!
//! Two quirks worth knowing:
//! - In header v2 the `client_id` stays an *int16-length* string, not a compact one, so
//!   that a broker that does not know the version can still read who is asking.
//! - Flexible responses normally use response header v1 (with a tagged-field byte after
//!   the correlation id), *except ApiVersions*, which always uses v0: a client that has
//!   not yet learnt the broker's versions must be able to read the answer (KIP-511).
//!
//! The first 8 bytes of every request header have the same layout in every version; they
//! are read first ([`RequestIds`]) so the server can route or refuse the request before it
//! interprets anything version-dependent.

use super::ApiKey;
use super::primitives::{FieldResult, Reader, TaggedField, Writer, len_i32};

/// The three fixed-layout fields that open every request. Carried by every
/// [`DecodeError`](super::DecodeError) that got that far, for log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestIds {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

impl RequestIds {
    pub(super) fn decode(r: &mut Reader<'_>) -> FieldResult<Self> {
        Ok(RequestIds {
            api_key: r.i16("header.api_key")?,
            api_version: r.i16("header.api_version")?,
            correlation_id: r.i32("header.correlation_id")?,
        })
    }
}

/// A decoded request header (v1 or v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader<'a> {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    /// Free-form client name (e.g. `rdkafka`); null is allowed.
    pub client_id: Option<String>,
    /// Header v2 only; always empty for v1.
    pub tagged_fields: Vec<TaggedField<'a>>,
}

/// Whether an API version uses the flexible encoding (compact lengths, tagged fields).
pub fn is_flexible(api_key: ApiKey, api_version: i16) -> bool {
    match api_key {
        ApiKey::ApiVersions | ApiKey::FindCoordinator => api_version >= 3,
        _ => false,
    }
}

/// Which request header version an API version uses: 2 for flexible versions, else 1.
pub fn request_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    if is_flexible(api_key, api_version) {
        2
    } else {
        1
    }
}

/// Which response header version answers an API version: 1 (with a tagged-field section)
/// for flexible versions, except ApiVersions, which always answers with 0 (KIP-511).
pub fn response_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    if api_key != ApiKey::ApiVersions && is_flexible(api_key, api_version) {
        1
    } else {
        0
    }
}

impl<'a> RequestHeader<'a> {
    /// Reads the rest of the header after [`RequestIds`].
    pub(super) fn decode_rest(
        r: &mut Reader<'a>,
        ids: RequestIds,
        api_key: ApiKey,
    ) -> FieldResult<Self> {
        let client_id = r.nullable_string("header.client_id")?;
        let tagged_fields = if request_header_version(api_key, ids.api_version) >= 2 {
            r.tagged_fields("header.tagged_fields")?
        } else {
            Vec::new()
        };
        Ok(RequestHeader {
            api_key,
            api_version: ids.api_version,
            correlation_id: ids.correlation_id,
            client_id,
            tagged_fields,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer) {
        w.i16(self.api_key.code());
        w.i16(self.api_version);
        w.i32(self.correlation_id);
        w.nullable_string(self.client_id.as_deref());
        if request_header_version(self.api_key, self.api_version) >= 2 {
            w.tagged_fields(&self.tagged_fields);
        }
    }
}

/// Starts a response frame: a 4-byte size placeholder and response header v0, or v1 when
/// `header_version` is 1 (an empty tagged-field section after the correlation id).
pub(super) fn begin_response(correlation_id: i32, header_version: i16) -> Writer {
    let mut w = Writer::new();
    w.i32(0); // size, patched by finish_frame
    w.i32(correlation_id);
    if header_version >= 1 {
        w.tagged_fields(&[]);
    }
    w
}

/// Reads response header v0 or v1 and returns the correlation id (the client side of
/// [`begin_response`]).
pub(super) fn decode_response_header(r: &mut Reader<'_>, header_version: i16) -> FieldResult<i32> {
    let correlation_id = r.i32("response_header.correlation_id")?;
    if header_version >= 1 {
        r.tagged_fields("response_header.tagged_fields")?;
    }
    Ok(correlation_id)
}

/// Fills in the size prefix (bytes after the prefix itself) and returns the frame.
pub(super) fn finish_frame(mut w: Writer) -> Vec<u8> {
    let size = len_i32(w.len().saturating_sub(4));
    w.patch_i32(0, size);
    w.into_inner()
}
