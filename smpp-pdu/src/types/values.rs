//! Typed one-octet values: TON, NPI, esm_class, registered_delivery, data_coding,
//! priority_flag and message_state (reference sections 7.2 to 7.9).

use crate::macros::wire_newtype;

wire_newtype! {
    /// Type of number (`*_addr_ton`).
    pub struct Ton(u8);
    UNKNOWN = 0, "unknown", "unknown type of number";
    INTERNATIONAL = 1, "international", "international number (E.164, no leading +)";
    NATIONAL = 2, "national", "national number";
    NETWORK_SPECIFIC = 3, "network_specific", "network-specific number";
    SUBSCRIBER_NUMBER = 4, "subscriber_number", "subscriber number";
    ALPHANUMERIC = 5, "alphanumeric", "alphanumeric sender id";
    ABBREVIATED = 6, "abbreviated", "abbreviated number (short code)";
}

wire_newtype! {
    /// Numbering plan indicator (`*_addr_npi`).
    pub struct Npi(u8);
    UNKNOWN = 0, "unknown", "unknown numbering plan";
    ISDN = 1, "isdn", "ISDN / E.164";
    DATA = 3, "data", "data (X.121)";
    TELEX = 4, "telex", "telex (F.69)";
    LAND_MOBILE = 6, "land_mobile", "land mobile (E.212)";
    NATIONAL = 8, "national", "national numbering plan";
    PRIVATE = 9, "private", "private numbering plan";
    ERMES = 10, "ermes", "ERMES";
    INTERNET = 14, "internet", "Internet (IP)";
    WAP_CLIENT_ID = 18, "wap_client_id", "WAP client id";
}

wire_newtype! {
    /// `data_coding`: how `short_message` / `message_payload` octets are to be read.
    pub struct DataCoding(u8);
    MC_DEFAULT = 0x00, "mc_default", "MC default alphabet (usually GSM 03.38)";
    IA5 = 0x01, "ia5", "IA5 (CCITT T.50) / ASCII";
    OCTET_UNSPECIFIED_2 = 0x02, "octet_unspecified_2", "8-bit binary (TDMA/CDMA)";
    LATIN1 = 0x03, "latin1", "Latin-1 (ISO-8859-1)";
    OCTET_UNSPECIFIED = 0x04, "octet_unspecified", "8-bit binary";
    JIS = 0x05, "jis", "JIS (X 0208-1990)";
    CYRILLIC = 0x06, "cyrillic", "Cyrillic (ISO-8859-5)";
    LATIN_HEBREW = 0x07, "latin_hebrew", "Latin/Hebrew (ISO-8859-8)";
    UCS2 = 0x08, "ucs2", "UCS-2 (ISO/IEC-10646), big-endian";
    PICTOGRAM = 0x09, "pictogram", "pictogram encoding";
    ISO_2022_JP = 0x0A, "iso_2022_jp", "ISO-2022-JP (music codes)";
    EXTENDED_KANJI_JIS = 0x0D, "extended_kanji_jis", "extended Kanji JIS (X 0212-1990)";
    KS_C_5601 = 0x0E, "ks_c_5601", "KS C 5601";
}

/// The alphabet a `data_coding` value selects, per SMPP and GSM 03.38 / 23.038.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Alphabet {
    /// GSM 7-bit default alphabet (or the MC default, 0x00).
    Gsm7,
    /// IA5 / ASCII.
    Ascii,
    /// Latin-1.
    Latin1,
    /// 8-bit binary data.
    Binary,
    /// UCS-2 / UTF-16BE.
    Ucs2,
    /// Any other coding (JIS, Cyrillic, reserved values, ...): the raw code is kept.
    Other(u8),
}

impl DataCoding {
    /// The alphabet this value selects, with the GSM data coding groups (0x10–0xFF) read
    /// as 3GPP 23.038 defines them.
    pub const fn alphabet(self) -> Alphabet {
        match self.0 {
            0x00 => Alphabet::Gsm7,
            0x01 => Alphabet::Ascii,
            0x03 => Alphabet::Latin1,
            0x02 | 0x04 => Alphabet::Binary,
            0x08 => Alphabet::Ucs2,
            // General data coding groups 00xx and 01xx (auto-deletion): bits 3-2.
            0x10..=0x7F => match (self.0 >> 2) & 0x03 {
                0 => Alphabet::Gsm7,
                1 => Alphabet::Binary,
                2 => Alphabet::Ucs2,
                _ => Alphabet::Other(self.0),
            },
            0xC0..=0xDF => Alphabet::Gsm7,
            0xE0..=0xEF => Alphabet::Ucs2,
            0xF0..=0xFF => {
                if self.0 & 0x04 == 0 {
                    Alphabet::Gsm7
                } else {
                    Alphabet::Binary
                }
            }
            other => Alphabet::Other(other),
        }
    }
}

wire_newtype! {
    /// `priority_flag` (0–3 in v3.4, 0–1 in v3.3, 0–4 for v5.0 GSM cell broadcast).
    pub struct PriorityFlag(u8);
    LEVEL_0 = 0, "level_0", "non-priority (GSM), bulk (ANSI-136), normal (IS-95)";
    LEVEL_1 = 1, "level_1", "priority (GSM), normal (ANSI-136), interactive (IS-95)";
    LEVEL_2 = 2, "level_2", "priority (GSM), urgent (ANSI-136 and IS-95)";
    LEVEL_3 = 3, "level_3", "priority (GSM), very urgent (ANSI-136), emergency (IS-95)";
}

wire_newtype! {
    /// `message_state` (query_sm_resp field and TLV 0x0427), reference section 7.9.
    pub struct MessageState(u8);
    SCHEDULED = 0, "SCHEDULED", "scheduled for later delivery (v5.0)";
    ENROUTE = 1, "ENROUTE", "in transit";
    DELIVERED = 2, "DELIVERED", "delivered to the destination";
    EXPIRED = 3, "EXPIRED", "validity period expired";
    DELETED = 4, "DELETED", "deleted";
    UNDELIVERABLE = 5, "UNDELIVERABLE", "undeliverable";
    ACCEPTED = 6, "ACCEPTED", "accepted (read on behalf of the subscriber)";
    UNKNOWN = 7, "UNKNOWN", "in an invalid state";
    REJECTED = 8, "REJECTED", "rejected";
    SKIPPED = 9, "SKIPPED", "skipped (v5.0)";
}

impl MessageState {
    /// The 7-character `stat:` word used in delivery receipt text (Appendix B).
    pub const fn receipt_stat(self) -> Option<&'static str> {
        match self.0 {
            1 => Some("ENROUTE"),
            2 => Some("DELIVRD"),
            3 => Some("EXPIRED"),
            4 => Some("DELETED"),
            5 => Some("UNDELIV"),
            6 => Some("ACCEPTD"),
            7 => Some("UNKNOWN"),
            8 => Some("REJECTD"),
            _ => None,
        }
    }

    /// The state named by a receipt `stat:` word, matched case-insensitively.
    pub fn from_receipt_stat(stat: &[u8]) -> Option<Self> {
        (1..=8).map(Self).find(|s| s.receipt_stat().is_some_and(|w| w.as_bytes().eq_ignore_ascii_case(stat)))
    }

    /// Whether the state is final (no further receipt is expected), following the
    /// SMPP v5.0 table (section 4.7.15): DELIVERED, EXPIRED, DELETED, UNDELIVERABLE,
    /// ACCEPTED, REJECTED and SKIPPED are final; SCHEDULED and ENROUTE are
    /// intermediate. UNKNOWN is "N/A" in the table and is not taken as final, nor is
    /// any value the table does not name.
    pub const fn is_final(self) -> bool {
        matches!(self.0, 2..=6 | 8 | 9)
    }
}

/// Messaging mode (esm_class bits 1–0).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum MessagingMode {
    /// 0: MC default mode (usually store and forward).
    Default,
    /// 1: datagram.
    Datagram,
    /// 2: forward (transaction).
    Forward,
    /// 3: explicit store and forward.
    StoreAndForward,
}

/// Message type (esm_class bits 5–2), as seen on MC to ESME traffic.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum MessageType {
    /// 0x00: a normal message.
    Normal,
    /// 0x04: MC delivery receipt.
    DeliveryReceipt,
    /// 0x08: SME delivery acknowledgement.
    DeliveryAck,
    /// 0x10: SME manual/user acknowledgement.
    UserAck,
    /// 0x18: conversation abort (Korean CDMA).
    ConversationAbort,
    /// 0x20: intermediate delivery notification.
    IntermediateNotification,
    /// Any other value of the four bits (the masked value is kept).
    Other(u8),
}

/// `esm_class`: messaging mode, message type and GSM features (UDHI, reply path).
///
/// ```
/// use smpp_wire::{EsmClass, MessageType};
/// let receipt = EsmClass(0x04);
/// assert_eq!(receipt.message_type(), MessageType::DeliveryReceipt);
/// assert!(EsmClass::DEFAULT.with_udhi().udhi());
/// ```
#[derive(Clone, Copy, Default, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct EsmClass(pub u8);

impl EsmClass {
    /// All bits clear: default mode, normal message, no GSM features.
    pub const DEFAULT: Self = Self(0);
    /// Mask of the messaging mode bits.
    pub const MODE_MASK: u8 = 0x03;
    /// Mask of the message type bits.
    pub const TYPE_MASK: u8 = 0x3C;
    /// User data header indicator: the message starts with a UDH.
    pub const UDHI: u8 = 0x40;
    /// Reply path.
    pub const REPLY_PATH: u8 = 0x80;

    /// The messaging mode.
    pub const fn messaging_mode(self) -> MessagingMode {
        match self.0 & Self::MODE_MASK {
            0 => MessagingMode::Default,
            1 => MessagingMode::Datagram,
            2 => MessagingMode::Forward,
            _ => MessagingMode::StoreAndForward,
        }
    }

    /// The message type.
    pub const fn message_type(self) -> MessageType {
        match self.0 & Self::TYPE_MASK {
            0x00 => MessageType::Normal,
            0x04 => MessageType::DeliveryReceipt,
            0x08 => MessageType::DeliveryAck,
            0x10 => MessageType::UserAck,
            0x18 => MessageType::ConversationAbort,
            0x20 => MessageType::IntermediateNotification,
            other => MessageType::Other(other),
        }
    }

    /// Whether this marks an MC delivery receipt or an intermediate notification.
    pub const fn is_receipt(self) -> bool {
        matches!(self.message_type(), MessageType::DeliveryReceipt | MessageType::IntermediateNotification)
    }

    /// Whether the UDHI bit is set.
    pub const fn udhi(self) -> bool {
        self.0 & Self::UDHI != 0
    }

    /// Whether the reply path bit is set.
    pub const fn reply_path(self) -> bool {
        self.0 & Self::REPLY_PATH != 0
    }

    /// The same value with the UDHI bit set.
    pub const fn with_udhi(self) -> Self {
        Self(self.0 | Self::UDHI)
    }

    /// The same value with the message type bits replaced by `bits & TYPE_MASK`.
    pub const fn with_message_type_bits(self, bits: u8) -> Self {
        Self((self.0 & !Self::TYPE_MASK) | (bits & Self::TYPE_MASK))
    }
}

impl core::fmt::Debug for EsmClass {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EsmClass({:#04x}: {:?}, {:?}", self.0, self.messaging_mode(), self.message_type())?;
        if self.udhi() {
            f.write_str(", UDHI")?;
        }
        if self.reply_path() {
            f.write_str(", reply path")?;
        }
        f.write_str(")")
    }
}

/// Which MC delivery receipt is asked for (registered_delivery bits 1–0).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum ReceiptRequest {
    /// 0: no receipt.
    None,
    /// 1: a receipt on success or failure.
    Always,
    /// 2: a receipt on failure only.
    OnFailure,
    /// 3: a receipt on success only (v5.0).
    OnSuccess,
}

/// `registered_delivery`: which receipts and acknowledgements are requested.
///
/// ```
/// use smpp_wire::{ReceiptRequest, RegisteredDelivery};
/// assert_eq!(RegisteredDelivery::RECEIPT.receipt(), ReceiptRequest::Always);
/// assert!(RegisteredDelivery(0x11).intermediate());
/// ```
#[derive(Clone, Copy, Default, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct RegisteredDelivery(pub u8);

impl RegisteredDelivery {
    /// Nothing requested.
    pub const NONE: Self = Self(0);
    /// An MC delivery receipt on success or failure (the usual choice).
    pub const RECEIPT: Self = Self(1);
    /// An MC delivery receipt on failure only.
    pub const RECEIPT_ON_FAILURE: Self = Self(2);
    /// SME delivery acknowledgement bit.
    pub const SME_DELIVERY_ACK: u8 = 0x04;
    /// SME manual/user acknowledgement bit.
    pub const SME_USER_ACK: u8 = 0x08;
    /// Intermediate notification bit (0x10, see reference section 11 item 8).
    pub const INTERMEDIATE: u8 = 0x10;

    /// The MC delivery receipt requested.
    pub const fn receipt(self) -> ReceiptRequest {
        match self.0 & 0x03 {
            0 => ReceiptRequest::None,
            1 => ReceiptRequest::Always,
            2 => ReceiptRequest::OnFailure,
            _ => ReceiptRequest::OnSuccess,
        }
    }

    /// Whether an intermediate notification is requested.
    pub const fn intermediate(self) -> bool {
        self.0 & Self::INTERMEDIATE != 0
    }

    /// Whether an SME delivery acknowledgement is requested.
    pub const fn sme_delivery_ack(self) -> bool {
        self.0 & Self::SME_DELIVERY_ACK != 0
    }

    /// Whether an SME manual/user acknowledgement is requested.
    pub const fn sme_user_ack(self) -> bool {
        self.0 & Self::SME_USER_ACK != 0
    }
}

impl core::fmt::Debug for RegisteredDelivery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RegisteredDelivery({:#04x}: {:?})", self.0, self.receipt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_coding_groups() {
        assert_eq!(DataCoding(0x00).alphabet(), Alphabet::Gsm7);
        assert_eq!(DataCoding(0x08).alphabet(), Alphabet::Ucs2);
        assert_eq!(DataCoding(0x18).alphabet(), Alphabet::Ucs2);
        assert_eq!(DataCoding(0xF0).alphabet(), Alphabet::Gsm7);
        assert_eq!(DataCoding(0xF5).alphabet(), Alphabet::Binary);
        assert_eq!(DataCoding(0xE3).alphabet(), Alphabet::Ucs2);
        assert_eq!(DataCoding(0x06).alphabet(), Alphabet::Other(0x06));
    }

    #[test]
    fn esm_class_bits() {
        let e = EsmClass(0x43);
        assert!(e.udhi());
        assert_eq!(e.messaging_mode(), MessagingMode::StoreAndForward);
        assert_eq!(e.message_type(), MessageType::Normal);
        assert!(EsmClass(0x20).is_receipt());
        assert_eq!(EsmClass(0x4D).message_type(), MessageType::Other(0x0C));
        assert_eq!(EsmClass(0xC4).with_message_type_bits(0).0, 0xC0);
    }

    #[test]
    fn message_state_receipt_words() {
        assert_eq!(MessageState::from_receipt_stat(b"delivrd"), Some(MessageState::DELIVERED));
        assert_eq!(MessageState::from_receipt_stat(b"UNDELIV"), Some(MessageState::UNDELIVERABLE));
        assert_eq!(MessageState::from_receipt_stat(b"NOPE"), None);
        assert!(MessageState::DELIVERED.is_final());
        assert!(!MessageState::ENROUTE.is_final());
    }

    #[test]
    fn message_state_is_final_follows_the_v5_table() {
        let expected = [
            (MessageState::SCHEDULED, false),
            (MessageState::ENROUTE, false),
            (MessageState::DELIVERED, true),
            (MessageState::EXPIRED, true),
            (MessageState::DELETED, true),
            (MessageState::UNDELIVERABLE, true),
            (MessageState::ACCEPTED, true),
            (MessageState::UNKNOWN, false),
            (MessageState::REJECTED, true),
            (MessageState::SKIPPED, true),
            (MessageState(10), false),
        ];
        for (value, (state, is_final)) in expected.into_iter().enumerate() {
            assert_eq!(usize::from(state.0), value, "the table is in value order");
            assert_eq!(state.is_final(), is_final, "message_state {value}");
        }
    }
}
