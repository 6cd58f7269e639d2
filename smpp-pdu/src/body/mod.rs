//! [`Pdu`] and [`Body`]: one enum variant per operation, decode and encode.

mod structs;

use bytes::{Buf, Bytes, BytesMut};

pub use self::structs::*;
use crate::error::DecodeError;
use crate::frame::{HEADER_LEN, Header};
use crate::parse::{Cx, ErrorKind, ParseError, Wire};
use crate::{CommandId, CommandStatus, SequenceNumber, ShortMessage};

macro_rules! bodies {
    (
        unit_requests { $( $(#[$um:meta])* $uv:ident = $uid:ident, )* }
        unit_responses { $( $(#[$rm:meta])* $rv:ident = $rid:ident, )* }
        requests { $( $(#[$qm:meta])* $qv:ident($qt:ty) = $qid:ident, )* }
        responses { $( $(#[$pm:meta])* $pv:ident($pt:ty) = $pid:ident, )* }
    ) => {
        /// The body of a PDU: which operation, and its fields.
        ///
        /// The `command_id` is derived from the variant, so it can never disagree with
        /// the body. Responses whose body may be absent (error responses, or peers that
        /// omit it) hold an `Option`: `None` is a header-only PDU.
        #[non_exhaustive]
        #[derive(Clone, Debug, Eq, PartialEq)]
        pub enum Body {
            $( $(#[$um])* $uv, )*
            $( $(#[$rm])* $rv, )*
            $( $(#[$qm])* $qv($qt), )*
            $( $(#[$pm])* $pv(Option<$pt>), )*
        }

        impl Body {
            /// The `command_id` of this body.
            pub const fn command_id(&self) -> CommandId {
                match self {
                    $( Self::$uv => CommandId::$uid, )*
                    $( Self::$rv => CommandId::$rid, )*
                    $( Self::$qv(_) => CommandId::$qid, )*
                    $( Self::$pv(_) => CommandId::$pid, )*
                }
            }

            fn body_len(&self) -> usize {
                match self {
                    $( Self::$uv => 0, )*
                    $( Self::$rv => 0, )*
                    $( Self::$qv(b) => Wire::wire_len(b), )*
                    $( Self::$pv(b) => b.as_ref().map_or(0, Wire::wire_len), )*
                }
            }

            #[inline(always)]
            fn put_body(&self, dst: &mut crate::write::Writer<'_>) {
                match self {
                    $( Self::$qv(b) => Wire::put(b, dst), )*
                    $( Self::$pv(Some(b)) => Wire::put(b, dst), )*
                    _ => {}
                }
            }

            pub(crate) fn visit(&self, _name: &'static str, out: &mut Vec<crate::fields::Field>) {
                match self {
                    $( Self::$qv(b) => crate::fields::Visit::visit(b, stringify!($qv), out), )*
                    $( Self::$pv(Some(b)) => crate::fields::Visit::visit(b, stringify!($pv), out), )*
                    _ => {}
                }
            }

            /// Decodes the body into `out`, in place, so the body is not copied through
            /// the parser's return values. `out` must hold a unit variant (the
            /// placeholder): it is overwritten without being dropped.
            #[inline(always)]
            fn decode_body_into(out: &mut Self, header: &Header, body: &[u8], cx: &Cx<'_>) -> Result<(), ParseError> {
                debug_assert!(matches!(out, Self::EnquireLink));
                match header.command_id {
                    $( CommandId::$uid => no_body(body).map(|()| *out = Self::$uv), )*
                    $( CommandId::$rid => { *out = Self::$rv; Ok(()) } )*
                    $(
                        CommandId::$qid => {
                            // The placeholder owns nothing: forgetting it saves a call to
                            // the drop glue of every variant.
                            core::mem::forget(core::mem::replace(out, Self::$qv(<$qt>::default())));
                            match out {
                                Self::$qv(value) => request_into(value, body, cx),
                                _ => Ok(()),
                            }
                        }
                    )*
                    $( CommandId::$pid => response::<$pt>(header.command_status, body, cx).map(|b| *out = Self::$pv(b)), )*
                    other => Err(ParseError { kind: ErrorKind::UnknownCommand(other), rest: body.len() }),
                }
            }
        }

        impl Body {
            /// The header-only body of a response id, or `None` if `id` is not a
            /// response this codec has a body for.
            const fn header_only_response(id: CommandId) -> Option<Self> {
                Some(match id {
                    $( CommandId::$rid => Self::$rv, )*
                    $( CommandId::$pid => Self::$pv(None), )*
                    _ => return None,
                })
            }
        }

        /// The id of every body variant, requests then responses.
        #[cfg(test)]
        const BODY_IDS: &[CommandId] = &[
            $( CommandId::$uid, )*
            $( CommandId::$qid, )*
            $( CommandId::$rid, )*
            $( CommandId::$pid, )*
        ];

        #[cfg(feature = "proptest")]
        pub(crate) const BODY_GENERATORS: &[fn(&mut crate::arbitrary::Gen) -> Body] = &[
            $( |_| Body::$uv, )*
            $( |_| Body::$rv, )*
            $( |g| Body::$qv(crate::arbitrary::Generate::generate(g, 0, usize::MAX)), )*
            $( |g| Body::$pv(crate::arbitrary::Generate::generate(g, 0, usize::MAX)), )*
        ];
    };
}

bodies! {
    unit_requests {
        /// unbind.
        Unbind = UNBIND,
        /// enquire_link.
        EnquireLink = ENQUIRE_LINK,
    }
    unit_responses {
        /// generic_nack.
        GenericNack = GENERIC_NACK,
        /// unbind_resp.
        UnbindResp = UNBIND_RESP,
        /// enquire_link_resp.
        EnquireLinkResp = ENQUIRE_LINK_RESP,
        /// cancel_sm_resp.
        CancelSmResp = CANCEL_SM_RESP,
        /// replace_sm_resp.
        ReplaceSmResp = REPLACE_SM_RESP,
        /// cancel_broadcast_sm_resp (v5.0).
        CancelBroadcastSmResp = CANCEL_BROADCAST_SM_RESP,
    }
    requests {
        /// bind_receiver.
        BindReceiver(Bind) = BIND_RECEIVER,
        /// bind_transmitter.
        BindTransmitter(Bind) = BIND_TRANSMITTER,
        /// bind_transceiver.
        BindTransceiver(Bind) = BIND_TRANSCEIVER,
        /// outbind.
        Outbind(Outbind) = OUTBIND,
        /// submit_sm.
        SubmitSm(SubmitSm) = SUBMIT_SM,
        /// deliver_sm.
        DeliverSm(DeliverSm) = DELIVER_SM,
        /// submit_multi.
        SubmitMulti(SubmitMulti) = SUBMIT_MULTI,
        /// data_sm.
        DataSm(DataSm) = DATA_SM,
        /// query_sm.
        QuerySm(QuerySm) = QUERY_SM,
        /// cancel_sm.
        CancelSm(CancelSm) = CANCEL_SM,
        /// replace_sm.
        ReplaceSm(ReplaceSm) = REPLACE_SM,
        /// alert_notification.
        AlertNotification(AlertNotification) = ALERT_NOTIFICATION,
        /// broadcast_sm (v5.0).
        BroadcastSm(BroadcastSm) = BROADCAST_SM,
        /// query_broadcast_sm (v5.0).
        QueryBroadcastSm(QueryBroadcastSm) = QUERY_BROADCAST_SM,
        /// cancel_broadcast_sm (v5.0).
        CancelBroadcastSm(CancelBroadcastSm) = CANCEL_BROADCAST_SM,
        /// param_retrieve (v3.3).
        ParamRetrieve(ParamRetrieve) = PARAM_RETRIEVE,
        /// query_last_msgs (v3.3).
        QueryLastMsgs(QueryLastMsgs) = QUERY_LAST_MSGS,
        /// query_msg_details (v3.3).
        QueryMsgDetails(QueryMsgDetails) = QUERY_MSG_DETAILS,
    }
    responses {
        /// bind_receiver_resp.
        BindReceiverResp(BindResp) = BIND_RECEIVER_RESP,
        /// bind_transmitter_resp.
        BindTransmitterResp(BindResp) = BIND_TRANSMITTER_RESP,
        /// bind_transceiver_resp.
        BindTransceiverResp(BindResp) = BIND_TRANSCEIVER_RESP,
        /// submit_sm_resp.
        SubmitSmResp(SubmitSmResp) = SUBMIT_SM_RESP,
        /// deliver_sm_resp.
        DeliverSmResp(DeliverSmResp) = DELIVER_SM_RESP,
        /// submit_multi_resp.
        SubmitMultiResp(SubmitMultiResp) = SUBMIT_MULTI_RESP,
        /// data_sm_resp.
        DataSmResp(DataSmResp) = DATA_SM_RESP,
        /// query_sm_resp.
        QuerySmResp(QuerySmResp) = QUERY_SM_RESP,
        /// broadcast_sm_resp (v5.0).
        BroadcastSmResp(BroadcastSmResp) = BROADCAST_SM_RESP,
        /// query_broadcast_sm_resp (v5.0).
        QueryBroadcastSmResp(QueryBroadcastSmResp) = QUERY_BROADCAST_SM_RESP,
        /// param_retrieve_resp (v3.3).
        ParamRetrieveResp(ParamRetrieveResp) = PARAM_RETRIEVE_RESP,
        /// query_last_msgs_resp (v3.3).
        QueryLastMsgsResp(QueryLastMsgsResp) = QUERY_LAST_MSGS_RESP,
        /// query_msg_details_resp (v3.3).
        QueryMsgDetailsResp(QueryMsgDetailsResp) = QUERY_MSG_DETAILS_RESP,
    }
}

/// A header-only request must have no body.
fn no_body(body: &[u8]) -> Result<(), ParseError> {
    if body.is_empty() { Ok(()) } else { Err(ParseError { kind: ErrorKind::Trailing(body.len()), rest: body.len() }) }
}

/// A request body, parsed into `value`: every mandatory field, then nothing left over.
#[inline(always)]
fn request_into<T: Wire>(value: &mut T, body: &[u8], cx: &Cx<'_>) -> Result<(), ParseError> {
    let rest = value.parse_into(body, "body", cx)?;
    no_body(rest)
}

/// A request body as a new value.
fn request<T: Wire + Default>(body: &[u8], cx: &Cx<'_>) -> Result<T, ParseError> {
    let mut value = T::default();
    request_into(&mut value, body, cx)?;
    Ok(value)
}

/// A response body: absent bodies are `None`; after an error status the body is read
/// best-effort and dropped if it does not parse (reference section 2.4). Lenient
/// decoding keeps whatever fields could be read, whatever the status.
fn response<T: Wire + Default>(status: CommandStatus, body: &[u8], cx: &Cx<'_>) -> Result<Option<T>, ParseError> {
    if body.is_empty() {
        return Ok(None);
    }
    if cx.lenient {
        // Fields are written in place as they parse, so what was read before an error
        // stays; trailing octets are ignored.
        let mut value = T::default();
        let _ = value.parse_into(body, "body", cx);
        return Ok(Some(value));
    }
    match request::<T>(body, cx) {
        Ok(value) => Ok(Some(value)),
        Err(_) if status.is_error() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The header of a whole frame, whose `command_length` must match the frame.
#[inline(always)]
fn frame_header(frame: &[u8]) -> Result<Header, DecodeError> {
    let Some(header) = Header::parse(frame) else {
        return Err(DecodeError::ShortHeader { len: frame.len() });
    };
    // A u32 always fits in usize on supported targets.
    if header.command_length as usize != frame.len() {
        return Err(DecodeError::LengthMismatch { command_length: header.command_length, actual: frame.len() });
    }
    Ok(header)
}

/// What [`Pdu::decode_lenient`] overlooked to read a PDU.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Salvaged {
    /// What [`Pdu::decode`] reports for this PDU.
    pub error: DecodeError,
    /// Known TLVs whose value did not decode, kept raw as [`Tlv::Unknown`](crate::Tlv::Unknown).
    pub raw_tlvs: Vec<crate::TlvTag>,
}

/// One SMPP PDU: status, sequence number and body.
///
/// `command_id` comes from the body and `command_length` is computed when encoding;
/// neither is stored.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use smpp_wire::{Body, CommandStatus, Pdu, SequenceNumber};
///
/// let frame = Bytes::from_static(&[0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 7]);
/// let pdu = Pdu::decode(frame.clone()).unwrap();
/// assert_eq!(pdu.body, Body::EnquireLink);
/// assert_eq!(pdu.sequence, SequenceNumber::new(7));
///
/// let mut out = BytesMut::new();
/// pdu.encode(&mut out);
/// assert_eq!(out, frame);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Pdu {
    /// `command_status` (ESME_ROK in requests).
    pub status: CommandStatus,
    /// `sequence_number`.
    pub sequence: SequenceNumber,
    /// The operation and its fields.
    pub body: Body,
}

impl Pdu {
    /// A PDU with status `ESME_ROK`.
    pub fn new(sequence: SequenceNumber, body: Body) -> Self {
        Self { status: CommandStatus::ESME_ROK, sequence, body }
    }

    /// A PDU with the given status.
    pub fn with_status(sequence: SequenceNumber, status: CommandStatus, body: Body) -> Self {
        Self { status, sequence, body }
    }

    /// Decodes one whole PDU. `frame` must hold exactly `command_length` octets, as
    /// delimited by [`frame_len`](crate::frame::frame_len).
    ///
    /// Octet fields share `frame` (no copy); C-octet string fields are copied inline.
    /// The `command_status` of requests is ignored, as the spec asks, and kept.
    pub fn decode(frame: Bytes) -> Result<Self, DecodeError> {
        let header = frame_header(&frame)?;
        let mut pdu = Self { status: header.command_status, sequence: header.sequence_number, body: Body::EnquireLink };
        let cx = Cx::new(&frame);
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        Body::decode_body_into(&mut pdu.body, &header, body, &cx).map_err(|e| e.into_decode_error(frame.len()))?;
        let short_message = cx.short_message.take();
        pdu.body.attach_short_message(frame, short_message);
        Ok(pdu)
    }

    /// Decodes one whole PDU like [`decode`](Self::decode), overlooking what a peer
    /// that means well gets wrong, and says what was overlooked:
    ///
    /// - a response body is read as far as it goes: fields that parse are kept, the
    ///   rest stay empty, trailing octets are ignored, an over-long C-octet string is
    ///   cut to its maximum (e.g. a 17-character `system_id`);
    /// - a known TLV whose value does not decode is kept raw as [`Tlv::Unknown`]
    ///   (its tag is listed in [`Salvaged::raw_tlvs`]), and so is the rest of a TLV
    ///   that runs past the end; a partial TLV header at the end is dropped.
    ///
    /// A request whose mandatory fields do not decode is still an error, as is a
    /// broken header or an unknown command_id. A PDU that decodes cleanly costs the
    /// same as with [`decode`](Self::decode) and comes with `None`.
    ///
    /// [`Tlv::Unknown`]: crate::Tlv::Unknown
    ///
    /// ```
    /// use bytes::Bytes;
    /// use smpp_wire::{Body, Pdu};
    /// // submit_sm_resp, status 0, message_id "abc", then a stray NUL.
    /// let frame = Bytes::from_static(&[0, 0, 0, 21, 0x80, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, b'a', b'b', b'c', 0, 0]);
    /// assert!(Pdu::decode(frame.clone()).is_err());
    /// let (pdu, salvaged) = Pdu::decode_lenient(frame).unwrap();
    /// let Body::SubmitSmResp(Some(resp)) = pdu.body else { panic!() };
    /// assert_eq!(resp.message_id.as_bytes(), b"abc");
    /// assert!(salvaged.is_some());
    /// ```
    pub fn decode_lenient(frame: Bytes) -> Result<(Self, Option<Box<Salvaged>>), DecodeError> {
        let header = frame_header(&frame)?;
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        let mut pdu = Self { status: header.command_status, sequence: header.sequence_number, body: Body::EnquireLink };
        let strict = {
            let cx = Cx::new(&frame);
            Body::decode_body_into(&mut pdu.body, &header, body, &cx).map(|()| cx.short_message.take())
        };
        let error = match strict {
            Ok(short_message) => {
                pdu.body.attach_short_message(frame, short_message);
                return Ok((pdu, None));
            }
            Err(e) => e.into_decode_error(frame.len()),
        };
        // What the strict pass read is dropped; start again from the placeholder.
        pdu.body = Body::EnquireLink;
        if matches!(error, DecodeError::UnknownCommand { .. }) {
            return Err(error);
        }
        let cx = Cx::lenient(&frame, header.command_id.is_response());
        Body::decode_body_into(&mut pdu.body, &header, body, &cx).map_err(|e| e.into_decode_error(frame.len()))?;
        let (short_message, raw_tlvs) = (cx.short_message.take(), cx.raw_tlvs.take());
        drop(cx);
        pdu.body.attach_short_message(frame, short_message);
        Ok((pdu, Some(Box::new(Salvaged { error, raw_tlvs }))))
    }

    /// The `command_id`, derived from the body.
    pub const fn command_id(&self) -> CommandId {
        self.body.command_id()
    }

    /// The exact number of octets [`encode`](Self::encode) writes (`command_length`).
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.body_len()
    }

    /// Appends the PDU to `dst`, reserving exactly [`encoded_len`](Self::encoded_len)
    /// octets first.
    pub fn encode(&self, dst: &mut BytesMut) {
        Self::encode_parts(self.sequence, self.status, &self.body, dst);
    }

    /// Appends the PDU made of these parts to `dst`, like [`encode`](Self::encode), for
    /// a caller that keeps the body (to send it again, say) instead of moving it into
    /// a `Pdu`.
    #[inline(always)]
    pub fn encode_parts(sequence: SequenceNumber, status: CommandStatus, body: &Body, dst: &mut BytesMut) {
        let len = HEADER_LEN + body.body_len();
        let start = dst.len();
        dst.resize(start + len, 0);
        let Some(out) = dst.get_mut(start..) else { return };
        let mut w = crate::write::Writer::new(out);
        // Bodies are bounded well below 4 GiB: the largest is under 16 MiB.
        w.put_u32(len as u32);
        w.put_u32(body.command_id().value());
        w.put_u32(status.value());
        w.put_u32(sequence.value());
        body.put_body(&mut w);
        debug_assert_eq!(w.position(), len, "encoded_len disagrees with the writers");
    }

    /// The `command_length` a PDU with this body has.
    pub fn encoded_len_of(body: &Body) -> usize {
        HEADER_LEN + body.body_len()
    }

    /// The encoded PDU as a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out.freeze()
    }
}

impl Body {
    /// Puts `short_message` (its place in the frame, as the parser noted it) into a
    /// freshly decoded body, whose field the parser left empty.
    #[inline(always)]
    fn attach_short_message(&mut self, frame: Bytes, place: Option<(usize, usize)>) {
        if let Some((start, len)) = place
            && len > 0
            && let Some(sm) = self.short_message_mut()
        {
            // The frame becomes the field: no reference count is taken or dropped.
            let mut frame = frame;
            frame.truncate(start.saturating_add(len));
            frame.advance(start);
            // The parser left the field empty (a static `Bytes`, nothing to drop).
            core::mem::forget(core::mem::replace(sm, ShortMessage::from_checked(frame)));
        }
    }

    /// The `short_message` field of the bodies that have one.
    pub fn short_message_mut(&mut self) -> Option<&mut ShortMessage> {
        match self {
            Self::SubmitSm(b) | Self::DeliverSm(b) => Some(&mut b.short_message),
            Self::SubmitMulti(b) => Some(&mut b.short_message),
            Self::ReplaceSm(b) => Some(&mut b.short_message),
            Self::QueryMsgDetailsResp(Some(b)) => Some(&mut b.short_message),
            _ => None,
        }
    }

    /// Whether this body is a request (bit 31 of its command_id clear).
    pub const fn is_request(&self) -> bool {
        !self.command_id().is_response()
    }

    /// The body of the response to this request with no body fields filled in (header
    /// only), or `None` if it has no response (outbind, alert_notification, responses).
    ///
    /// Used to answer a request with an error status.
    pub fn empty_response(&self) -> Option<Self> {
        Self::empty_response_for(self.command_id())
    }

    /// The header-only response body for a request id, or `None` if the id has no
    /// response PDU ([`CommandInfo::response`](crate::CommandInfo::response)).
    pub fn empty_response_for(id: CommandId) -> Option<Self> {
        let response = id.info()?.response?;
        Self::header_only_response(response)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::COMMANDS;

    #[test]
    fn every_table_id_has_exactly_one_body_variant() {
        let bodies: HashSet<_> = BODY_IDS.iter().copied().collect();
        assert_eq!(bodies.len(), BODY_IDS.len(), "two body variants share an id");
        let table: HashSet<_> = COMMANDS.iter().map(|c| c.id).collect();
        assert_eq!(bodies, table);
        for &id in BODY_IDS {
            // A header-only frame of every known id reaches its body parser: never UnknownCommand.
            let mut frame = vec![0, 0, 0, 16];
            frame.extend_from_slice(&id.value().to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
            match Pdu::decode(Bytes::from(frame)) {
                Ok(pdu) => assert_eq!(pdu.command_id(), id),
                Err(e) => assert!(!matches!(e, DecodeError::UnknownCommand { .. }), "{id}: {e}"),
            }
        }
    }

    #[test]
    fn empty_response_follows_the_table() {
        for row in COMMANDS {
            let body = Body::empty_response_for(row.id);
            assert_eq!(body.as_ref().map(Body::command_id), row.response, "{}", row.name);
            assert_eq!(body.as_ref().map(Pdu::encoded_len_of), row.response.map(|_| HEADER_LEN), "{}", row.name);
        }
        assert_eq!(Body::empty_response_for(CommandId(0x0000_0110)), None);
    }
}
