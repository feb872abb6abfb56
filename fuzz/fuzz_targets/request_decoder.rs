//! Fuzz target: the broker's request decoder, fed whole frames (the bytes after the
//! int32 size prefix), exactly what `zc serve` hands it from a socket.
//!
//! Properties checked beyond "never panics":
//! - an error's reply, if it has one, is a well-formed frame (size prefix matches);
//! - whatever decodes re-encodes to a frame that decodes to the same request body, so the
//!   decoder never accepts something the encoder would write differently in meaning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zc::kafka::{decode_request, encode_request};

fuzz_target!(|frame: &[u8]| {
    match decode_request(frame) {
        Ok(request) => {
            let header = &request.header;
            let again = encode_request(
                header.correlation_id,
                header.client_id.as_deref(),
                header.api_version,
                &request.body,
            );
            let size = i32::from_be_bytes(again[..4].try_into().unwrap());
            assert_eq!(
                size as usize,
                again.len() - 4,
                "size prefix of a re-encoded request"
            );
            let back = decode_request(&again[4..]).expect("a re-encoded request decodes");
            assert_eq!(
                back.body, request.body,
                "decode(encode(decode(x))) != decode(x)"
            );
            assert_eq!(back.header.correlation_id, header.correlation_id);
        }
        Err(error) => {
            let _ = error.to_string();
            if let Some(reply) = error.reply() {
                let size = i32::from_be_bytes(reply[..4].try_into().unwrap());
                assert_eq!(
                    size as usize,
                    reply.len() - 4,
                    "size prefix of an error reply"
                );
            }
        }
    }
});
