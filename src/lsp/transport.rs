//! The base protocol of LSP on a byte stream: `Content-Length` headers, then a JSON body.
//!
//! Framing is read here rather than by `lsp_server::Message::read` so that a body that is not
//! JSON, or not a JSON-RPC message, is answered with an error and the next message is still
//! read; only a broken header (the stream cannot be followed any more) ends the session.

use std::io::{self, BufRead, Write};

/// The largest message body accepted (a document of several megabytes fits).
pub const MAX_BODY: usize = 64 << 20;

/// What one frame of the input held.
#[derive(Debug)]
pub enum Frame {
    /// A JSON-RPC message.
    Message(lsp_server::Message),
    /// A body that is not a JSON-RPC message: the error to answer it with, and the request id
    /// when one could be read.
    Invalid {
        id: Option<serde_json::Value>,
        code: i32,
        message: String,
    },
}

/// Reads one frame; `Ok(None)` at the end of the input.
pub fn read(r: &mut dyn BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut line = String::new();
    let mut first = true;
    let mut headers = 0usize;
    loop {
        line.clear();
        let n = r.read_line(&mut line)?;
        if n == 0 {
            if first {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the input ended inside a message header",
            ));
        }
        first = false;
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if headers == 0 {
                // Blank lines between messages are tolerated.
                first = true;
                continue;
            }
            break;
        }
        headers += 1;
        let Some((name, value)) = header.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not a message header: {:?}",
                    crate::diagnostic::printable(header)
                ),
            ));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let n: usize = value.trim().parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("Content-Length is not a number: {:?}", value.trim()),
                )
            })?;
            if n > MAX_BODY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a message of {n} bytes is over the limit of {MAX_BODY}"),
                ));
            }
            length = Some(n);
        }
    }
    let Some(length) = length else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a message header without Content-Length",
        ));
    };
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)?;
    Ok(Some(parse(&body)))
}

/// A body as a message, or the error that answers it.
pub fn parse(body: &[u8]) -> Frame {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Frame::Invalid {
                id: None,
                code: lsp_server::ErrorCode::ParseError as i32,
                message: format!("the message is not JSON: {e}"),
            }
        }
    };
    let id = value
        .get("id")
        .filter(|id| id.is_string() || id.is_number())
        .cloned();
    let invalid = |message: String| Frame::Invalid {
        id: id.clone(),
        code: lsp_server::ErrorCode::InvalidRequest as i32,
        message,
    };
    // Which kind a message is, by its members (serde's untagged guess would take a request
    // without a method for a response).
    let is_response = value.get("method").is_none()
        && (value.get("result").is_some() || value.get("error").is_some());
    if value.get("method").is_none() && !is_response {
        return invalid("not a JSON-RPC message: it has no `method`".into());
    }
    let parsed = if is_response {
        serde_json::from_value::<lsp_server::Response>(value).map(lsp_server::Message::Response)
    } else if value.get("id").is_some() {
        serde_json::from_value::<lsp_server::Request>(value).map(lsp_server::Message::Request)
    } else {
        serde_json::from_value::<lsp_server::Notification>(value)
            .map(lsp_server::Message::Notification)
    };
    match parsed {
        Ok(m) => Frame::Message(m),
        Err(e) => invalid(format!("not a JSON-RPC message: {e}")),
    }
}

/// Writes one message.
pub fn write(w: &mut dyn Write, msg: &lsp_server::Message) -> io::Result<()> {
    let mut buf = Vec::new();
    msg.write(&mut buf)?;
    w.write_all(&buf)?;
    w.flush()
}

/// Writes an error response to a frame that was not a message (its id may be `null`).
pub fn write_invalid(
    w: &mut dyn Write,
    id: Option<serde_json::Value>,
    code: i32,
    message: &str,
) -> io::Result<()> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(serde_json::Value::Null),
        "error": { "code": code, "message": message },
    })
    .to_string();
    write!(w, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn a_body_that_is_not_json_is_answered_and_the_next_message_is_read() {
        let mut input = frame("{not json");
        input.extend(frame(
            r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
        ));
        let mut r = &input[..];
        assert!(matches!(
            read(&mut r).unwrap(),
            Some(Frame::Invalid { code: -32700, .. })
        ));
        assert!(matches!(
            read(&mut r).unwrap(),
            Some(Frame::Message(lsp_server::Message::Notification(_)))
        ));
        assert!(read(&mut r).unwrap().is_none());
    }

    #[test]
    fn a_request_without_a_method_keeps_its_id() {
        match parse(br#"{"jsonrpc":"2.0","id":7,"params":{}}"#) {
            Frame::Invalid { id, code, .. } => {
                assert_eq!(id, Some(serde_json::json!(7)));
                assert_eq!(code, -32600);
            }
            f => panic!("{f:?}"),
        }
    }

    #[test]
    fn a_broken_header_ends_the_session() {
        let mut r = &b"Content-Length: x\r\n\r\n{}"[..];
        assert!(read(&mut r).is_err());
        let mut r = &b"garbage\r\n"[..];
        assert!(read(&mut r).is_err());
        // Headers without Content-Length, even when a good message follows.
        let good = b"Content-Length: 2\r\n\r\n{}";
        let mut input = b"Content-Type: x\r\n\r\n".to_vec();
        input.extend_from_slice(good);
        let mut r = &input[..];
        assert!(read(&mut r).is_err());
    }
}
