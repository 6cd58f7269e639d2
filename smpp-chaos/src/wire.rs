//! Raw PDUs on a byte stream: the fault peers work below the session, so they can
//! send what a session never would.

use bytes::{Bytes, BytesMut};
use smpp_wire::{Body, CommandStatus, Pdu, SequenceNumber, frame_len};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame the peers take.
const MAX_FRAME: usize = 1 << 17;

/// The next whole frame from `rd`, or `None` at the end of the stream. Cancel-safe:
/// what was read stays in `buf`.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut BytesMut) -> std::io::Result<Option<Bytes>> {
    loop {
        match frame_len(buf, MAX_FRAME) {
            Ok(Some(n)) => return Ok(Some(buf.split_to(n).freeze())),
            Ok(None) => {}
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
        }
        if rd.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

/// A PDU's octets.
pub(crate) fn encode(seq: SequenceNumber, status: CommandStatus, body: Body) -> Vec<u8> {
    Pdu::with_status(seq, status, body).to_bytes().to_vec()
}

/// `frame` with `extra` octets appended and `command_length` fixed: a body padded or
/// garbled after its last field.
pub(crate) fn with_tail(mut frame: Vec<u8>, extra: &[u8]) -> Vec<u8> {
    frame.extend_from_slice(extra);
    let len = frame.len() as u32;
    if let Some(head) = frame.get_mut(..4) {
        head.copy_from_slice(&len.to_be_bytes());
    }
    frame
}

/// Writes all of `bytes`.
pub(crate) async fn write<W: AsyncWrite + Unpin>(wr: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    wr.write_all(bytes).await?;
    wr.flush().await
}
