//! The four transfer modes.
