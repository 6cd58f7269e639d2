//! TLVs (optional parameters): every standard tag of v3.4 and v5.0, typed and length
//! checked, and unknown tags kept raw so they re-encode byte for byte.
//!
//! The codec accepts every TLV whatever the negotiated version; which TLVs may be sent
//! to a peer is the session's decision ([`TlvTag::since`] gives the data for it).

use bytes::{BufMut, Bytes, BytesMut};

use thin_vec::ThinVec;

use crate::error::FieldError;
use crate::parse::{Cx, ErrorKind, ParseError, Wire, parse_u16};
use crate::{CommandStatus, InterfaceVersion, MessageState, OctetString};

/// Most TLVs accepted in one PDU. The spec allows each standard tag once (one repeats),
/// so 64 leaves room for vendor tags while bounding the work a peer can cause.
pub const MAX_TLVS: usize = 64;

/// A C-octet string carried in a TLV (`receipted_message_id`, ...): at most `MAX`
/// octets including the NUL.
///
/// Kept exactly as received, so a value sent without its NUL (a common SMSC quirk) is
/// accepted and re-encoded unchanged; [`as_bytes`](Self::as_bytes) strips the NUL.
#[derive(Clone, Default, Eq, Hash, PartialEq)]
pub struct TlvString<const MAX: usize>(Bytes);

impl<const MAX: usize> TlvString<MAX> {
    /// A value of at most `MAX - 1` characters with no NUL; the NUL is added.
    pub fn new(text: impl AsRef<[u8]>) -> Result<Self, FieldError> {
        let text = text.as_ref();
        if text.len() >= MAX {
            return Err(FieldError::TooLong { max: MAX - 1, len: text.len() });
        }
        if text.contains(&0) {
            return Err(FieldError::InteriorNul);
        }
        let mut raw = BytesMut::with_capacity(text.len() + 1);
        raw.put_slice(text);
        raw.put_u8(0);
        Ok(Self(raw.freeze()))
    }

    /// The characters, without a trailing NUL.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.strip_suffix(&[0]).unwrap_or(&self.0)
    }

    /// The characters as UTF-8, if they are.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// The octets exactly as on the wire.
    pub fn raw(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> core::fmt::Debug for TlvString<MAX> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

/// An unsigned integer TLV whose width varies between sources (reference section 11,
/// items 1 and 2): decoded by its declared length and re-encoded at that length.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct VarUint {
    value: u32,
    len: u8,
}

impl VarUint {
    /// A value written in `len` octets (1 to 4), if it fits.
    pub fn new(value: u32, len: u8) -> Result<Self, FieldError> {
        let fits = match len {
            1 => value <= 0xFF,
            2 => value <= 0xFFFF,
            3 => value <= 0xFF_FFFF,
            4 => true,
            _ => false,
        };
        if fits { Ok(Self { value, len }) } else { Err(FieldError::TooLong { max: 4, len: usize::from(len) }) }
    }

    /// The value.
    pub fn value(self) -> u32 {
        self.value
    }

    /// Octets on the wire.
    pub fn len(self) -> u8 {
        self.len
    }

    /// Whether the value is written in zero octets (never: kept for API symmetry).
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// `network_error_code` (0x0423): network type and error code.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct NetworkErrorCode {
    /// 1 ANSI-136, 2 IS-95, 3 GSM, 4 ANSI-136 cause, 5 IS-95 cause, 6 ANSI-41, 7 SMPP, 8 MC-specific.
    pub network_type: u8,
    /// The error code in that network's space.
    pub error_code: u16,
}

/// `broadcast_content_type` (0x0601, v5.0): network type and service category.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct BroadcastContentType {
    /// 0 generic, 1 GSM, 2 TDMA, 3 CDMA.
    pub network_type: u8,
    /// The content (service) category.
    pub content_type: u16,
}

/// `broadcast_frequency_interval` (0x0605, v5.0): unit and count.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct BroadcastFrequencyInterval {
    /// 0x00 as often as possible, 0x08 seconds, 0x09 minutes, 0x0A hours, 0x0B days, ...
    pub time_unit: u8,
    /// How many units.
    pub number: u16,
}

/// How a TLV value type is read from and written to its value octets.
pub(crate) trait TlvValue: Sized {
    /// Reads a value whose length is already checked against the tag's range.
    fn decode_value(v: &[u8], cx: &Cx<'_>) -> Option<Self>;
    fn value_len(&self) -> usize;
    fn put_value(&self, dst: &mut crate::write::Writer<'_>);
}

impl TlvValue for u8 {
    fn decode_value(v: &[u8], _: &Cx<'_>) -> Option<Self> {
        v.first().copied()
    }
    fn value_len(&self) -> usize {
        1
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u8(*self);
    }
}

impl TlvValue for u16 {
    fn decode_value(v: &[u8], _: &Cx<'_>) -> Option<Self> {
        Some(Self::from_be_bytes(*v.first_chunk()?))
    }
    fn value_len(&self) -> usize {
        2
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u16(*self);
    }
}

impl TlvValue for u32 {
    fn decode_value(v: &[u8], _: &Cx<'_>) -> Option<Self> {
        Some(Self::from_be_bytes(*v.first_chunk()?))
    }
    fn value_len(&self) -> usize {
        4
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u32(*self);
    }
}

macro_rules! tlv_value_via {
    ($t:ty, $inner:ty) => {
        impl TlvValue for $t {
            fn decode_value(v: &[u8], cx: &Cx<'_>) -> Option<Self> {
                <$inner>::decode_value(v, cx).map(Self)
            }
            fn value_len(&self) -> usize {
                self.0.value_len()
            }
            fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
                self.0.put_value(dst);
            }
        }
    };
}

tlv_value_via!(InterfaceVersion, u8);
tlv_value_via!(MessageState, u8);
tlv_value_via!(CommandStatus, u32);

impl TlvValue for Option<u8> {
    fn decode_value(v: &[u8], _: &Cx<'_>) -> Option<Self> {
        Some(v.first().copied())
    }
    fn value_len(&self) -> usize {
        usize::from(self.is_some())
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        if let Some(v) = self {
            dst.put_u8(*v);
        }
    }
}

impl<const MAX: usize> TlvValue for OctetString<MAX> {
    fn decode_value(v: &[u8], cx: &Cx<'_>) -> Option<Self> {
        Some(Self::from_checked(cx.bytes(v)))
    }
    fn value_len(&self) -> usize {
        self.len()
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_slice(self.as_bytes());
    }
}

impl<const MAX: usize> TlvValue for TlvString<MAX> {
    fn decode_value(v: &[u8], cx: &Cx<'_>) -> Option<Self> {
        Some(Self(cx.bytes(v)))
    }
    fn value_len(&self) -> usize {
        self.0.len()
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_slice(&self.0);
    }
}

impl TlvValue for VarUint {
    fn decode_value(v: &[u8], _: &Cx<'_>) -> Option<Self> {
        let value = v.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        // The tag's range keeps `v` at 1 to 4 octets.
        Some(Self { value, len: v.len() as u8 })
    }
    fn value_len(&self) -> usize {
        usize::from(self.len)
    }
    fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
        let bytes = self.value.to_be_bytes();
        dst.put_slice(bytes.get(4 - self.value_len()..).unwrap_or(&bytes));
    }
}

macro_rules! tlv_value_u8_u16 {
    ($t:ident, $a:ident, $b:ident) => {
        impl TlvValue for $t {
            fn decode_value(v: &[u8], _: &Cx<'_>) -> Option<Self> {
                let [a, b, c] = *v.first_chunk()?;
                Some(Self { $a: a, $b: u16::from_be_bytes([b, c]) })
            }
            fn value_len(&self) -> usize {
                3
            }
            fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
                dst.put_u8(self.$a);
                dst.put_u16(self.$b);
            }
        }
    };
}

tlv_value_u8_u16!(NetworkErrorCode, network_type, error_code);
tlv_value_u8_u16!(BroadcastContentType, network_type, content_type);
tlv_value_u8_u16!(BroadcastFrequencyInterval, time_unit, number);

macro_rules! tlvs {
    ($(
        $(#[$doc:meta])*
        $tag:literal $konst:ident $variant:ident $name:literal : $ty:ty, $min:literal ..= $max:literal, $since:ident;
    )*) => {
        /// A TLV tag. Debug prints the spec name of known tags.
        #[derive(Clone, Copy, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
        pub struct TlvTag(pub u16);

        impl TlvTag {
            $(
                #[doc = concat!("`", $name, "`")]
                pub const $konst: Self = Self($tag);
            )*

            /// The spec name, for known tags.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $tag => Some($name), )*
                    _ => None,
                }
            }

            /// The SMPP version that defined this tag (unknown tags: 3.4, when TLVs began).
            pub const fn since(self) -> InterfaceVersion {
                match self.0 {
                    $( $tag => InterfaceVersion::$since, )*
                    _ => InterfaceVersion::V34,
                }
            }

            /// The allowed value lengths (`min..=max`) of a known tag.
            pub const fn value_len_range(self) -> Option<(usize, usize)> {
                match self.0 {
                    $( $tag => Some(($min, $max)), )*
                    _ => None,
                }
            }

            /// Whether the tag is in the vendor-specific range 0x1400–0x3FFF.
            pub const fn is_vendor_specific(self) -> bool {
                matches!(self.0, 0x1400..=0x3FFF)
            }
        }

        impl core::fmt::Debug for TlvTag {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "TlvTag({:#06x})", self.0),
                }
            }
        }

        /// One TLV: a typed standard parameter, or an unknown one kept raw.
        #[non_exhaustive]
        #[derive(Clone, Debug, Eq, Hash, PartialEq)]
        pub enum Tlv {
            $(
                $(#[$doc])*
                #[doc = concat!("`", $name, "` (", stringify!($tag), ").")]
                $variant($ty),
            )*
            /// A tag this codec does not know (vendor or reserved), kept byte for byte; or,
            /// after [`Pdu::decode_lenient`](crate::Pdu::decode_lenient), a known tag whose
            /// value did not decode.
            Unknown {
                /// The tag.
                tag: TlvTag,
                /// The value octets (at most 65 535).
                value: OctetString<65535>,
            },
        }

        impl Tlv {
            /// The tag of this TLV.
            pub fn tag(&self) -> TlvTag {
                match self {
                    $( Self::$variant(_) => TlvTag($tag), )*
                    Self::Unknown { tag, .. } => *tag,
                }
            }

            /// Octets of the value (the TLV's `length` field).
            pub fn value_len(&self) -> usize {
                match self {
                    $( Self::$variant(v) => v.value_len(), )*
                    Self::Unknown { value, .. } => value.len(),
                }
            }

            fn put_value(&self, dst: &mut crate::write::Writer<'_>) {
                match self {
                    $( Self::$variant(v) => v.put_value(dst), )*
                    Self::Unknown { value, .. } => dst.put_slice(value.as_bytes()),
                }
            }

            fn decode_known(tag: TlvTag, v: &[u8], cx: &Cx<'_>) -> Option<Self> {
                match tag.0 {
                    $( $tag => <$ty as TlvValue>::decode_value(v, cx).map(Self::$variant), )*
                    _ => Some(Self::Unknown { tag, value: OctetString::from_checked(cx.bytes(v)) }),
                }
            }

            /// A random TLV of any tag, with a value length in the tag's range.
            #[cfg(feature = "proptest")]
            pub(crate) fn generate_any(g: &mut crate::arbitrary::Gen) -> Self {
                use crate::arbitrary::Generate;
                const ALL: &[fn(&mut crate::arbitrary::Gen) -> Tlv] = &[
                    $( |g| Tlv::$variant(<$ty as Generate>::generate(g, $min, $max)), )*
                ];
                if g.below(8) == 0 {
                    let tag = TlvTag(0x1400 + g.below(0x2C00) as u16);
                    return Self::Unknown { tag, value: Generate::generate(g, 0, 32) };
                }
                let k = g.below(ALL.len());
                ALL.get(k).map_or(Self::Unknown { tag: TlvTag(0x1400), value: OctetString::default() }, |f| f(g))
            }
        }
    };
}

tlvs! {
    0x0005 DEST_ADDR_SUBUNIT DestAddrSubunit "dest_addr_subunit": u8, 1..=1, V34;
    0x0006 DEST_NETWORK_TYPE DestNetworkType "dest_network_type": u8, 1..=1, V34;
    0x0007 DEST_BEARER_TYPE DestBearerType "dest_bearer_type": u8, 1..=1, V34;
    0x0008 DEST_TELEMATICS_ID DestTelematicsId "dest_telematics_id": u16, 2..=2, V34;
    0x000D SOURCE_ADDR_SUBUNIT SourceAddrSubunit "source_addr_subunit": u8, 1..=1, V34;
    0x000E SOURCE_NETWORK_TYPE SourceNetworkType "source_network_type": u8, 1..=1, V34;
    0x000F SOURCE_BEARER_TYPE SourceBearerType "source_bearer_type": u8, 1..=1, V34;
    /// One octet in v3.4, two in some v5.0 readings: decoded by length.
    0x0010 SOURCE_TELEMATICS_ID SourceTelematicsId "source_telematics_id": VarUint, 1..=2, V34;
    0x0017 QOS_TIME_TO_LIVE QosTimeToLive "qos_time_to_live": u32, 4..=4, V34;
    0x0019 PAYLOAD_TYPE PayloadType "payload_type": u8, 1..=1, V34;
    0x001D ADDITIONAL_STATUS_INFO_TEXT AdditionalStatusInfoText "additional_status_info_text": TlvString<256>, 1..=256, V34;
    0x001E RECEIPTED_MESSAGE_ID ReceiptedMessageId "receipted_message_id": TlvString<65>, 1..=65, V34;
    0x0030 MS_MSG_WAIT_FACILITIES MsMsgWaitFacilities "ms_msg_wait_facilities": u8, 1..=1, V34;
    0x0201 PRIVACY_INDICATOR PrivacyIndicator "privacy_indicator": u8, 1..=1, V34;
    0x0202 SOURCE_SUBADDRESS SourceSubaddress "source_subaddress": OctetString<23>, 2..=23, V34;
    0x0203 DEST_SUBADDRESS DestSubaddress "dest_subaddress": OctetString<23>, 2..=23, V34;
    0x0204 USER_MESSAGE_REFERENCE UserMessageReference "user_message_reference": u16, 2..=2, V34;
    0x0205 USER_RESPONSE_CODE UserResponseCode "user_response_code": u8, 1..=1, V34;
    0x020A SOURCE_PORT SourcePort "source_port": u16, 2..=2, V34;
    0x020B DESTINATION_PORT DestinationPort "destination_port": u16, 2..=2, V34;
    0x020C SAR_MSG_REF_NUM SarMsgRefNum "sar_msg_ref_num": u16, 2..=2, V34;
    0x020D LANGUAGE_INDICATOR LanguageIndicator "language_indicator": u8, 1..=1, V34;
    0x020E SAR_TOTAL_SEGMENTS SarTotalSegments "sar_total_segments": u8, 1..=1, V34;
    0x020F SAR_SEGMENT_SEQNUM SarSegmentSeqnum "sar_segment_seqnum": u8, 1..=1, V34;
    0x0210 SC_INTERFACE_VERSION ScInterfaceVersion "sc_interface_version": InterfaceVersion, 1..=1, V34;
    0x0302 CALLBACK_NUM_PRES_IND CallbackNumPresInd "callback_num_pres_ind": u8, 1..=1, V34;
    0x0303 CALLBACK_NUM_ATAG CallbackNumAtag "callback_num_atag": OctetString<65>, 0..=65, V34;
    0x0304 NUMBER_OF_MESSAGES NumberOfMessages "number_of_messages": u8, 1..=1, V34;
    0x0381 CALLBACK_NUM CallbackNum "callback_num": OctetString<19>, 4..=19, V34;
    0x0420 DPF_RESULT DpfResult "dpf_result": u8, 1..=1, V34;
    0x0421 SET_DPF SetDpf "set_dpf": u8, 1..=1, V34;
    0x0422 MS_AVAILABILITY_STATUS MsAvailabilityStatus "ms_availability_status": u8, 1..=1, V34;
    0x0423 NETWORK_ERROR_CODE NetworkErrorCode "network_error_code": NetworkErrorCode, 3..=3, V34;
    0x0424 MESSAGE_PAYLOAD MessagePayload "message_payload": OctetString<65535>, 0..=65535, V34;
    0x0425 DELIVERY_FAILURE_REASON DeliveryFailureReason "delivery_failure_reason": u8, 1..=1, V34;
    0x0426 MORE_MESSAGES_TO_SEND MoreMessagesToSend "more_messages_to_send": u8, 1..=1, V34;
    0x0427 MESSAGE_STATE MessageState "message_state": MessageState, 1..=1, V34;
    0x0501 USSD_SERVICE_OP UssdServiceOp "ussd_service_op": u8, 1..=1, V34;
    0x1201 DISPLAY_TIME DisplayTime "display_time": u8, 1..=1, V34;
    0x1203 SMS_SIGNAL SmsSignal "sms_signal": u16, 2..=2, V34;
    /// One octet, or the four-octet extended form of v5.0: kept raw.
    0x1204 MS_VALIDITY MsValidity "ms_validity": OctetString<4>, 1..=4, V34;
    /// Empty in v3.4; v5.0 allows one octet (the alert level).
    0x130C ALERT_ON_MESSAGE_DELIVERY AlertOnMessageDelivery "alert_on_message_delivery": Option<u8>, 0..=1, V34;
    0x1380 ITS_REPLY_TYPE ItsReplyType "its_reply_type": u8, 1..=1, V34;
    0x1383 ITS_SESSION_INFO ItsSessionInfo "its_session_info": u16, 2..=2, V34;
    0x0428 CONGESTION_STATE CongestionState "congestion_state": u8, 1..=1, V50;
    0x0600 BROADCAST_CHANNEL_INDICATOR BroadcastChannelIndicator "broadcast_channel_indicator": u8, 1..=1, V50;
    0x0601 BROADCAST_CONTENT_TYPE BroadcastContentType "broadcast_content_type": BroadcastContentType, 3..=3, V50;
    0x0602 BROADCAST_CONTENT_TYPE_INFO BroadcastContentTypeInfo "broadcast_content_type_info": OctetString<255>, 0..=255, V50;
    0x0603 BROADCAST_MESSAGE_CLASS BroadcastMessageClass "broadcast_message_class": u8, 1..=1, V50;
    /// Two octets by most sources, one or three by others: decoded by length.
    0x0604 BROADCAST_REP_NUM BroadcastRepNum "broadcast_rep_num": VarUint, 1..=3, V50;
    0x0605 BROADCAST_FREQUENCY_INTERVAL BroadcastFrequencyInterval "broadcast_frequency_interval": BroadcastFrequencyInterval, 3..=3, V50;
    /// Format octet and area data; repeatable.
    0x0606 BROADCAST_AREA_IDENTIFIER BroadcastAreaIdentifier "broadcast_area_identifier": OctetString<65535>, 1..=65535, V50;
    0x0607 BROADCAST_ERROR_STATUS BroadcastErrorStatus "broadcast_error_status": CommandStatus, 4..=4, V50;
    0x0608 BROADCAST_AREA_SUCCESS BroadcastAreaSuccess "broadcast_area_success": u8, 1..=1, V50;
    0x0609 BROADCAST_END_TIME BroadcastEndTime "broadcast_end_time": TlvString<17>, 1..=17, V50;
    0x060A BROADCAST_SERVICE_GROUP BroadcastServiceGroup "broadcast_service_group": OctetString<255>, 0..=255, V50;
    0x060B BILLING_IDENTIFICATION BillingIdentification "billing_identification": OctetString<1024>, 0..=1024, V50;
    0x060D SOURCE_NETWORK_ID SourceNetworkId "source_network_id": TlvString<66>, 1..=66, V50;
    0x060E DEST_NETWORK_ID DestNetworkId "dest_network_id": TlvString<66>, 1..=66, V50;
    0x060F SOURCE_NODE_ID SourceNodeId "source_node_id": OctetString<6>, 6..=6, V50;
    0x0610 DEST_NODE_ID DestNodeId "dest_node_id": OctetString<6>, 6..=6, V50;
    0x0611 DEST_ADDR_NP_RESOLUTION DestAddrNpResolution "dest_addr_np_resolution": u8, 1..=1, V50;
    0x0612 DEST_ADDR_NP_INFORMATION DestAddrNpInformation "dest_addr_np_information": OctetString<10>, 10..=10, V50;
    0x0613 DEST_ADDR_NP_COUNTRY DestAddrNpCountry "dest_addr_np_country": OctetString<5>, 1..=5, V50;
}

impl Tlv {
    /// The value octets exactly as on the wire (without tag and length), for display
    /// and logging.
    pub fn value_octets(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.value_len()];
        self.put_value(&mut crate::write::Writer::new(&mut out));
        out
    }

    /// Octets on the wire: tag, length and value.
    pub fn wire_len(&self) -> usize {
        4 + self.value_len()
    }

    /// Appends tag, length and value to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let start = dst.len();
        dst.resize(start + self.wire_len(), 0);
        if let Some(out) = dst.get_mut(start..) {
            self.write(&mut crate::write::Writer::new(out));
        }
    }

    /// Writes tag, length and value.
    pub(crate) fn write(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u16(self.tag().0);
        // Every value type is bounded to 65 535 octets.
        dst.put_u16(self.value_len() as u16);
        self.put_value(dst);
    }
}

/// The TLVs of one PDU, in wire order.
///
/// Most PDUs carry no TLV, so the list is a [`ThinVec`] (one pointer; length and
/// capacity live in its allocation): every body is 16 octets smaller than with a
/// `Vec`, and dropping an empty list costs one comparison.
///
/// ```
/// use smpp_wire::{MessageState, Tlv, Tlvs};
/// let mut tlvs = Tlvs::new();
/// tlvs.push(Tlv::MessageState(MessageState::DELIVERED));
/// assert_eq!(tlvs.message_state(), Some(MessageState::DELIVERED));
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Tlvs(ThinVec<Tlv>);

macro_rules! copy_getters {
    ($($(#[$doc:meta])* $fn:ident => $variant:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $fn(&self) -> Option<$ty> {
            self.0.iter().find_map(|t| match t {
                Tlv::$variant(v) => Some(v.clone()),
                _ => None,
            })
        }
    )*};
}

impl Tlvs {
    /// No TLVs.
    pub const fn new() -> Self {
        Self(ThinVec::new())
    }

    /// Appends a TLV.
    pub fn push(&mut self, tlv: Tlv) {
        self.0.push(tlv);
    }

    /// Removes every TLV with the given tag.
    pub fn remove(&mut self, tag: TlvTag) {
        self.0.retain(|t| t.tag() != tag);
    }

    /// The first TLV with the given tag.
    pub fn get(&self, tag: TlvTag) -> Option<&Tlv> {
        self.0.iter().find(|t| t.tag() == tag)
    }

    /// All TLVs, in wire order.
    pub fn iter(&self) -> core::slice::Iter<'_, Tlv> {
        self.0.iter()
    }

    /// How many TLVs there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    copy_getters! {
        /// `message_payload`, if present.
        message_payload => MessagePayload: OctetString<65535>;
        /// `receipted_message_id`, if present.
        receipted_message_id => ReceiptedMessageId: TlvString<65>;
        /// `message_state`, if present.
        message_state => MessageState: MessageState;
        /// `network_error_code`, if present.
        network_error_code => NetworkErrorCode: NetworkErrorCode;
        /// `sc_interface_version`, if present.
        sc_interface_version => ScInterfaceVersion: InterfaceVersion;
        /// `sar_msg_ref_num`, if present.
        sar_msg_ref_num => SarMsgRefNum: u16;
        /// `sar_total_segments`, if present.
        sar_total_segments => SarTotalSegments: u8;
        /// `sar_segment_seqnum`, if present.
        sar_segment_seqnum => SarSegmentSeqnum: u8;
    }
}

impl From<Vec<Tlv>> for Tlvs {
    fn from(v: Vec<Tlv>) -> Self {
        Self(ThinVec::from(v))
    }
}

impl FromIterator<Tlv> for Tlvs {
    fn from_iter<I: IntoIterator<Item = Tlv>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Tlvs {
    type Item = &'a Tlv;
    type IntoIter = core::slice::Iter<'a, Tlv>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The TLV area: everything up to the end of the PDU.
impl Wire for Tlvs {
    #[inline(always)]
    fn parse_into<'a>(&mut self, i: &'a [u8], _field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        if i.is_empty() {
            return Ok(i);
        }
        *self = parse_tlvs(i, cx)?;
        Ok(&[])
    }

    #[inline(always)]
    fn wire_len(&self) -> usize {
        self.0.iter().map(Tlv::wire_len).sum()
    }

    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        for tlv in &self.0 {
            dst.nested(|w| tlv.write(w));
        }
    }
}

/// The TLV area, which runs to the end of the PDU.
///
/// Lenient decoding keeps a known TLV whose value does not decode as
/// [`Tlv::Unknown`] (noted in the context), keeps the rest of a TLV that runs past
/// the end the same way, and drops a trailing partial TLV header and TLVs past
/// [`MAX_TLVS`].
fn parse_tlvs(mut i: &[u8], cx: &Cx<'_>) -> Result<Tlvs, ParseError> {
    let mut out = ThinVec::new();
    while !i.is_empty() {
        let at = |kind| ParseError { kind, rest: i.len() };
        if out.len() == MAX_TLVS {
            if cx.lenient {
                break;
            }
            return Err(at(ErrorKind::TooManyTlvs(MAX_TLVS)));
        }
        let stream = |_| at(ErrorKind::TlvStream);
        let header =
            parse_u16(i, "tlv").and_then(|(rest, tag)| parse_u16(rest, "tlv").map(|(rest, len)| (rest, tag, len)));
        let (rest, tag, len) = match header {
            Ok(h) => h,
            Err(_) if cx.lenient => break,
            Err(e) => return Err(stream(e)),
        };
        let tag = TlvTag(tag);
        let Some((value, rest)) = rest.split_at_checked(usize::from(len)) else {
            if cx.lenient {
                out.push(raw_tlv(tag, rest, cx));
                break;
            }
            return Err(at(ErrorKind::TlvStream));
        };
        if let Some((min, max)) = tag.value_len_range()
            && !(min..=max).contains(&usize::from(len))
        {
            if !cx.lenient {
                return Err(at(ErrorKind::TlvLength(tag, len)));
            }
            out.push(raw_tlv(tag, value, cx));
            i = rest;
            continue;
        }
        match Tlv::decode_known(tag, value, cx) {
            Some(tlv) => out.push(tlv),
            None if cx.lenient => out.push(raw_tlv(tag, value, cx)),
            None => return Err(at(ErrorKind::TlvValue(tag))),
        }
        i = rest;
    }
    Ok(Tlvs(out))
}

/// A known TLV whose value did not decode, kept raw by lenient decoding.
fn raw_tlv(tag: TlvTag, value: &[u8], cx: &Cx<'_>) -> Tlv {
    cx.raw_tlvs.borrow_mut().push(tag);
    let value = value.get(..usize::from(u16::MAX)).unwrap_or(value);
    Tlv::Unknown { tag, value: OctetString::from_checked(cx.bytes(value)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &'static [u8]) -> Result<Tlvs, ErrorKind> {
        let frame = Bytes::from_static(bytes);
        let cx = Cx::new(&frame);
        parse_tlvs(&frame, &cx).map_err(|e| e.kind)
    }

    #[test]
    fn tag_table_has_all_64_standard_tags() {
        let known = (0..=u16::MAX).filter(|t| TlvTag(*t).name().is_some()).count();
        assert_eq!(known, 64);
        assert_eq!(TlvTag::CONGESTION_STATE.since(), InterfaceVersion::V50);
        assert_eq!(TlvTag::MESSAGE_PAYLOAD.since(), InterfaceVersion::V34);
        assert_eq!(format!("{:?}", TlvTag(0x1401)), "TlvTag(0x1401)");
    }

    #[test]
    fn overrun_and_partial_header_are_stream_errors() {
        assert_eq!(parse(&[0x04, 0x27, 0x00, 0x02, 0x01]), Err(ErrorKind::TlvStream));
        assert_eq!(parse(&[0x04, 0x27, 0x00]), Err(ErrorKind::TlvStream));
        assert_eq!(parse(&[0x04]), Err(ErrorKind::TlvStream));
    }

    #[test]
    fn wrong_length_for_known_tag() {
        assert_eq!(parse(&[0x04, 0x27, 0x00, 0x02, 0x01, 0x02]), Err(ErrorKind::TlvLength(TlvTag::MESSAGE_STATE, 2)));
        assert_eq!(parse(&[0x02, 0x10, 0x00, 0x00]), Err(ErrorKind::TlvLength(TlvTag::SC_INTERFACE_VERSION, 0)));
    }

    #[test]
    fn unknown_tags_are_kept_raw() {
        let t = parse(&[0x14, 0x01, 0x00, 0x02, 0xab, 0xcd, 0x13, 0x0c, 0x00, 0x00]).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.iter().next().map(Tlv::tag), Some(TlvTag(0x1401)));
        assert_eq!(t.get(TlvTag::ALERT_ON_MESSAGE_DELIVERY), Some(&Tlv::AlertOnMessageDelivery(None)));
    }

    #[test]
    fn tlv_count_is_bounded() {
        let many: &'static [u8] = Box::leak(
            core::iter::repeat_n([0x13u8, 0x0c, 0, 0], MAX_TLVS + 1).flatten().collect::<Vec<_>>().into_boxed_slice(),
        );
        assert_eq!(parse(many), Err(ErrorKind::TooManyTlvs(MAX_TLVS)));
        assert_eq!(parse(&many[4..]).map(|t| t.len()), Ok(MAX_TLVS));
    }

    #[test]
    fn value_octets_are_the_encoding_without_tag_and_length() {
        for tlv in [
            Tlv::MessageState(MessageState::DELIVERED),
            Tlv::SourcePort(0x1234),
            Tlv::ReceiptedMessageId(TlvString::new("abc").unwrap()),
            Tlv::Unknown { tag: TlvTag(0x1401), value: OctetString::new(&b"xy"[..]).unwrap() },
        ] {
            let mut wire = BytesMut::new();
            tlv.encode(&mut wire);
            assert_eq!(tlv.value_octets(), wire[4..].to_vec(), "{tlv:?}");
        }
    }

    #[test]
    fn c_string_tlv_with_and_without_nul() {
        let t = parse(b"\x00\x1e\x00\x0838601fa\x00").unwrap();
        assert_eq!(t.receipted_message_id().map(|s| s.as_bytes().to_vec()), Some(b"38601fa".to_vec()));
        let t = parse(b"\x00\x1e\x00\x0738601fa").unwrap();
        assert_eq!(t.receipted_message_id().map(|s| s.raw().len()), Some(7));
    }
}
