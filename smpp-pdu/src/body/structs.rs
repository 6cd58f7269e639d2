//! The PDU bodies, field by field in wire order, with the spec's field names.
//!
//! Each struct is declared once; its parser, encoder and length come from the same
//! declaration, so the order on the wire cannot drift between them.

use crate::parse::{Cx, ErrorKind, ParseError, Wire, leaf, parse_u8};
use crate::{
    Address, BoundedVec, COctetString, CommandStatus, DataCoding, EsmClass, InterfaceVersion, MessageState, Password,
    PriorityFlag, RegisteredDelivery, ShortMessage, SmppTime, tlv::Tlvs,
};

macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        #[derive(Clone, Debug, Default, Eq, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Wire for $name {
            #[inline(always)]
            fn parse_into<'a>(&mut self, i: &'a [u8], _field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
                $( let i = Wire::parse_into(&mut self.$field, i, stringify!($field), cx)?; )*
                Ok(i)
            }

            #[inline(always)]
            fn wire_len(&self) -> usize {
                0 $( + Wire::wire_len(&self.$field) )*
            }

            #[inline(always)]
            fn put(&self, dst: &mut crate::write::Writer<'_>) {
                $( Wire::put(&self.$field, dst); )*
            }
        }

        #[cfg(feature = "proptest")]
        impl crate::arbitrary::Generate for $name {
            fn generate(g: &mut crate::arbitrary::Gen, _min: usize, _max: usize) -> Self {
                Self { $( $field: crate::arbitrary::Generate::generate(g, 0, usize::MAX), )* }
            }
        }

        #[cfg(feature = "proptest")]
        impl crate::arbitrary::BodyStruct for $name {}

        impl crate::fields::Visit for $name {
            fn visit(&self, _name: &'static str, out: &mut Vec<crate::fields::Field>) {
                $( crate::fields::Visit::visit(&self.$field, stringify!($field), out); )*
            }
        }
    };
}

wire_struct! {
    /// bind_transmitter, bind_receiver and bind_transceiver (identical bodies).
    pub struct Bind {
        /// ESME identity ("username"), C16.
        pub system_id: COctetString<16>,
        /// Password, C9. Debug prints `***`.
        pub password: Password,
        /// Type of ESME, C13 (often empty; `smpp` on some platforms).
        pub system_type: COctetString<13>,
        /// The SMPP version the ESME speaks.
        pub interface_version: InterfaceVersion,
        /// `addr_ton`, `addr_npi` and `address_range` (C41): the addresses the ESME serves.
        pub address_range: Address<41>,
        /// TLVs (none are defined; unknown ones are kept).
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// bind_transmitter_resp, bind_receiver_resp and bind_transceiver_resp.
    pub struct BindResp {
        /// MC identity, C16.
        pub system_id: COctetString<16>,
        /// TLVs: `sc_interface_version`.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// outbind: the MC asks the ESME to bind. It has no response PDU.
    pub struct Outbind {
        /// MC identity, C16.
        pub system_id: COctetString<16>,
        /// Password, C9.
        pub password: Password,
        /// TLVs (none are defined).
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// submit_sm, and deliver_sm, which has the same layout ([`DeliverSm`]).
    pub struct SubmitSm {
        /// Service type, C6 (empty = MC default).
        pub service_type: COctetString<6>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// Destination address (C21).
        pub destination_addr: Address<21>,
        /// Messaging mode, message type, UDHI.
        pub esm_class: EsmClass,
        /// GSM TP-PID.
        pub protocol_id: u8,
        /// Priority.
        pub priority_flag: PriorityFlag,
        /// When to deliver (`None` = immediately). Must be empty in deliver_sm.
        pub schedule_delivery_time: Option<SmppTime>,
        /// When to give up (`None` = MC default). Must be empty in deliver_sm.
        pub validity_period: Option<SmppTime>,
        /// Receipts and acknowledgements requested.
        pub registered_delivery: RegisteredDelivery,
        /// 1 = replace an undelivered message with the same source, destination and service type.
        pub replace_if_present_flag: u8,
        /// How `short_message` is encoded.
        pub data_coding: DataCoding,
        /// Index of a canned message (0 = none).
        pub sm_default_msg_id: u8,
        /// The user data, at most 254 octets (`sm_length` is computed from it).
        pub short_message: ShortMessage,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

/// deliver_sm: same layout as submit_sm.
pub type DeliverSm = SubmitSm;

wire_struct! {
    /// A response carrying a `message_id` and TLVs: submit_sm_resp, deliver_sm_resp
    /// (whose message_id is unused: send it empty), data_sm_resp, broadcast_sm_resp and
    /// query_broadcast_sm_resp.
    pub struct SubmitSmResp {
        /// MC message id, C65.
        pub message_id: COctetString<65>,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

/// deliver_sm_resp: a message_id (unused, sent empty) and TLVs.
pub type DeliverSmResp = SubmitSmResp;
/// data_sm_resp: a message_id and TLVs.
pub type DataSmResp = SubmitSmResp;
/// broadcast_sm_resp (v5.0): a message_id and TLVs.
pub type BroadcastSmResp = SubmitSmResp;
/// query_broadcast_sm_resp (v5.0): a message_id and TLVs.
pub type QueryBroadcastSmResp = SubmitSmResp;

/// One destination of submit_multi: an SME address or a distribution list.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum DestAddress {
    /// `dest_flag` 1: an SME address.
    Sme(Address<21>),
    /// `dest_flag` 2: a distribution list name (C21).
    DistributionList(COctetString<21>),
}

impl Wire for DestAddress {
    fn parse_into<'a>(&mut self, i: &'a [u8], _field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        let (rest, flag) = leaf(parse_u8(i, "dest_flag"), "dest_flag", i)?;
        match flag {
            1 => {
                let mut a = Address::default();
                let rest = a.parse_into(rest, "destination_addr", cx)?;
                *self = Self::Sme(a);
                Ok(rest)
            }
            2 => {
                let mut n = COctetString::default();
                let rest = n.parse_into(rest, "dl_name", cx)?;
                *self = Self::DistributionList(n);
                Ok(rest)
            }
            _ => Err(ParseError { kind: ErrorKind::Invalid("dest_flag"), rest: i.len() }),
        }
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        1 + match self {
            Self::Sme(a) => Wire::wire_len(a),
            Self::DistributionList(n) => Wire::wire_len(n),
        }
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        match self {
            Self::Sme(a) => {
                Wire::put(&1u8, dst);
                Wire::put(a, dst);
            }
            Self::DistributionList(n) => {
                Wire::put(&2u8, dst);
                Wire::put(n, dst);
            }
        }
    }
}

/// The destinations of submit_multi (`number_of_dests` is computed; at most 254).
pub type DestAddresses = BoundedVec<DestAddress, 254>;

wire_struct! {
    /// submit_multi: one message to up to 254 destinations.
    pub struct SubmitMulti {
        /// Service type, C6.
        pub service_type: COctetString<6>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// `number_of_dests` and the `dest_address` list.
        pub dest_addresses: DestAddresses,
        /// Messaging mode, message type, UDHI.
        pub esm_class: EsmClass,
        /// GSM TP-PID.
        pub protocol_id: u8,
        /// Priority.
        pub priority_flag: PriorityFlag,
        /// When to deliver.
        pub schedule_delivery_time: Option<SmppTime>,
        /// When to give up.
        pub validity_period: Option<SmppTime>,
        /// Receipts and acknowledgements requested.
        pub registered_delivery: RegisteredDelivery,
        /// Replace flag.
        pub replace_if_present_flag: u8,
        /// How `short_message` is encoded.
        pub data_coding: DataCoding,
        /// Index of a canned message.
        pub sm_default_msg_id: u8,
        /// The user data, at most 254 octets.
        pub short_message: ShortMessage,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// One destination submit_multi could not reach.
    pub struct UnsuccessSme {
        /// The destination (C21).
        pub destination_addr: Address<21>,
        /// Why (`error_status_code`, a command_status value).
        pub error_status_code: CommandStatus,
    }
}

wire_struct! {
    /// submit_multi_resp.
    pub struct SubmitMultiResp {
        /// MC message id, C65.
        pub message_id: COctetString<65>,
        /// `no_unsuccess` and the `unsuccess_sme` list.
        pub unsuccess_sme: BoundedVec<UnsuccessSme, 255>,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// data_sm: user data travels in the `message_payload` TLV.
    pub struct DataSm {
        /// Service type, C6.
        pub service_type: COctetString<6>,
        /// Source address (C65).
        pub source_addr: Address<65>,
        /// Destination address (C65).
        pub destination_addr: Address<65>,
        /// Messaging mode, message type, UDHI.
        pub esm_class: EsmClass,
        /// Receipts and acknowledgements requested.
        pub registered_delivery: RegisteredDelivery,
        /// How the payload is encoded.
        pub data_coding: DataCoding,
        /// TLVs (`message_payload` carries the data).
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// query_sm, and query_broadcast_sm (v5.0), which has the same layout.
    pub struct QuerySm {
        /// The MC message id to query, C65.
        pub message_id: COctetString<65>,
        /// The source address the message was submitted with (C21).
        pub source_addr: Address<21>,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

/// query_broadcast_sm (v5.0): same layout as query_sm.
pub type QueryBroadcastSm = QuerySm;

wire_struct! {
    /// query_sm_resp.
    pub struct QuerySmResp {
        /// The MC message id, C65.
        pub message_id: COctetString<65>,
        /// When the message reached a final state (C1|17, empty if not final). Kept as
        /// sent, since MCs also use a 12-character form; see [`QuerySmResp::final_date_time`].
        pub final_date: COctetString<17>,
        /// The message state.
        pub message_state: MessageState,
        /// Network error code (e.g. a GSM cause).
        pub error_code: u8,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

impl QuerySmResp {
    /// `final_date` as an SMPP time, if it is in the 16-character form.
    pub fn final_date_time(&self) -> Option<SmppTime> {
        SmppTime::parse(self.final_date.as_bytes()).ok()
    }
}

wire_struct! {
    /// cancel_sm.
    pub struct CancelSm {
        /// Service type, C6.
        pub service_type: COctetString<6>,
        /// The MC message id, C65 (empty: cancel every message matching the addresses).
        pub message_id: COctetString<65>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// Destination address (C21).
        pub destination_addr: Address<21>,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// replace_sm (no service_type field).
    pub struct ReplaceSm {
        /// The MC message id, C65.
        pub message_id: COctetString<65>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// New delivery time (`None` = keep).
        pub schedule_delivery_time: Option<SmppTime>,
        /// New validity period (`None` = keep).
        pub validity_period: Option<SmppTime>,
        /// Receipts requested.
        pub registered_delivery: RegisteredDelivery,
        /// Index of a canned message.
        pub sm_default_msg_id: u8,
        /// The new user data.
        pub short_message: ShortMessage,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// alert_notification: a mobile has become reachable. It has no response PDU.
    pub struct AlertNotification {
        /// The mobile (C65).
        pub source_addr: Address<65>,
        /// The ESME address (C65).
        pub esme_addr: Address<65>,
        /// TLVs: `ms_availability_status`.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// broadcast_sm (v5.0).
    pub struct BroadcastSm {
        /// Service type, C6.
        pub service_type: COctetString<6>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// Id of a broadcast to replace (empty otherwise), C65.
        pub message_id: COctetString<65>,
        /// Priority.
        pub priority_flag: PriorityFlag,
        /// When to start.
        pub schedule_delivery_time: Option<SmppTime>,
        /// When to stop.
        pub validity_period: Option<SmppTime>,
        /// Replace flag.
        pub replace_if_present_flag: u8,
        /// Encoding of the content.
        pub data_coding: DataCoding,
        /// Index of a canned message.
        pub sm_default_msg_id: u8,
        /// TLVs (broadcast_area_identifier, broadcast_content_type, broadcast_rep_num and
        /// broadcast_frequency_interval are mandatory).
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// cancel_broadcast_sm (v5.0).
    pub struct CancelBroadcastSm {
        /// Service type, C6.
        pub service_type: COctetString<6>,
        /// The broadcast's message id, C65.
        pub message_id: COctetString<65>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// TLVs.
        pub tlvs: Tlvs,
    }
}

wire_struct! {
    /// param_retrieve (v3.3 only).
    pub struct ParamRetrieve {
        /// The MC parameter to read (at most 31 characters).
        pub param_name: COctetString<32>,
    }
}

wire_struct! {
    /// param_retrieve_resp (v3.3 only).
    pub struct ParamRetrieveResp {
        /// The parameter's value (at most 100 characters).
        pub param_value: COctetString<101>,
    }
}

wire_struct! {
    /// query_last_msgs (v3.3 only).
    pub struct QueryLastMsgs {
        /// The source address whose messages are listed (C21).
        pub source_addr: Address<21>,
        /// How many messages, 1 to 100.
        pub num_messages: u8,
    }
}

wire_struct! {
    /// query_last_msgs_resp (v3.3 only).
    pub struct QueryLastMsgsResp {
        /// `count` and the message ids (v3.3 ids: at most 8 hex digits).
        pub message_ids: BoundedVec<COctetString<9>, 255>,
    }
}

wire_struct! {
    /// query_msg_details (v3.3 only).
    pub struct QueryMsgDetails {
        /// The message id (C9).
        pub message_id: COctetString<9>,
        /// The source address (C21).
        pub source_addr: Address<21>,
        /// How many octets of the text to return.
        pub sm_length: u8,
    }
}

wire_struct! {
    /// query_msg_details_resp (v3.3 only).
    pub struct QueryMsgDetailsResp {
        /// Service type, C6.
        pub service_type: COctetString<6>,
        /// Source address (C21).
        pub source_addr: Address<21>,
        /// The destinations.
        pub dest_addresses: DestAddresses,
        /// GSM TP-PID.
        pub protocol_id: u8,
        /// Priority.
        pub priority_flag: PriorityFlag,
        /// Scheduled delivery time.
        pub schedule_delivery_time: Option<SmppTime>,
        /// Validity period.
        pub validity_period: Option<SmppTime>,
        /// Receipts requested.
        pub registered_delivery: RegisteredDelivery,
        /// Encoding.
        pub data_coding: DataCoding,
        /// The (first octets of the) text.
        pub short_message: ShortMessage,
        /// The message id (C9).
        pub message_id: COctetString<9>,
        /// Final date (kept as sent).
        pub final_date: COctetString<17>,
        /// The message state.
        pub message_state: MessageState,
        /// Network error code.
        pub error_code: u8,
    }
}

#[cfg(feature = "proptest")]
impl crate::arbitrary::Generate for DestAddress {
    fn generate(g: &mut crate::arbitrary::Gen, min: usize, max: usize) -> Self {
        use crate::arbitrary::Generate;
        if g.below(4) == 0 {
            Self::DistributionList(Generate::generate(g, min, max))
        } else {
            Self::Sme(Generate::generate(g, min, max))
        }
    }
}

impl crate::fields::Visit for DestAddress {
    fn visit(&self, _name: &'static str, out: &mut Vec<crate::fields::Field>) {
        use crate::fields::{Field, FieldValue};
        match self {
            Self::Sme(a) => {
                out.push(Field { name: "dest_flag", value: FieldValue::Int(1) });
                a.visit("destination_addr", out);
            }
            Self::DistributionList(n) => {
                out.push(Field { name: "dest_flag", value: FieldValue::Int(2) });
                n.visit("dl_name", out);
            }
        }
    }
}

impl Default for DestAddress {
    fn default() -> Self {
        Self::Sme(Address::default())
    }
}
