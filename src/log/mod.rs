//! Kafka log.
