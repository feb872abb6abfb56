//! The receiving end of a bench transfer.
