//! Building blocks every SMSC author otherwise rebuilds: a rate limit
//! ([`Throttle`]), unique message ids ([`MessageIds`]) and delivery receipts
//! ([`DeliveryReceipt`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use smpp_wire::text::{Receipt, ReceiptDate};
use smpp_wire::tlv::{NetworkErrorCode, TlvString};
use smpp_wire::{Address, DeliverSm, EsmClass, InterfaceVersion, MessageState, RegisteredDelivery, ShortMessage, Tlv};

/// A token bucket: `rate` requests a second, in bursts of up to one second's worth.
/// Time comes from the caller, so it runs in virtual time in tests.
///
/// ```
/// use std::time::{Duration, Instant};
/// use smpp_server::Throttle;
/// let mut t = Throttle::new(2);
/// let now = Instant::now();
/// assert!(t.try_take(now) && t.try_take(now));
/// assert!(!t.try_take(now), "a third in the same instant is over the rate");
/// assert!(t.try_take(now + Duration::from_millis(500)), "half a second later, one more");
/// ```
#[derive(Clone, Debug)]
pub struct Throttle {
    rate: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Throttle {
    /// `per_second` requests a second (at least 1).
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self { rate, tokens: rate, last: None }
    }

    /// Changes the rate (at least 1 a second); the tokens held stay, up to the new
    /// burst.
    pub fn set_rate(&mut self, per_second: u32) {
        self.rate = f64::from(per_second.max(1));
        self.tokens = self.tokens.min(self.rate);
    }

    /// Takes one token if there is one; `false` means over the rate.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            self.tokens = (self.tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate).min(self.rate);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Unique message ids: 8 lowercase hex digits (valid as a v3.3 message_id, which
/// has room for 8 characters), from a counter that starts at a random point, so two
/// runs of a server hand out different ids for a long while. Unique for 2^32 ids.
///
/// ```
/// use smpp_server::MessageIds;
/// let ids = MessageIds::starting_at(0xfe);
/// assert_eq!(ids.next_id(), "000000fe");
/// assert_eq!(ids.next_id(), "000000ff");
/// ```
#[derive(Debug)]
pub struct MessageIds {
    next: AtomicU64,
}

impl Default for MessageIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageIds {
    /// A generator starting at a random point.
    pub fn new() -> Self {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        // A splitmix step spreads nearby seeds apart.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self::starting_at(z ^ (z >> 31))
    }

    /// A generator whose first id is `first` (modulo 2^32).
    pub fn starting_at(first: u64) -> Self {
        Self { next: AtomicU64::new(first) }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        self.next_numbered().1
    }

    /// The next id and the number it spells (its value in hex), for stores that
    /// index messages by number.
    pub fn next_numbered(&self) -> (u32, String) {
        let n = (self.next.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF) as u32;
        (n, format!("{n:08x}"))
    }

    /// The number an id of this generator spells, if it is one.
    pub fn number_of(id: &str) -> Option<u32> {
        (id.len() == 8).then(|| u32::from_str_radix(id, 16).ok()).flatten()
    }
}

/// A delivery receipt: the Appendix B text, plus (for v3.4 sessions only) the
/// receipted_message_id, message_state and network_error_code TLVs.
///
/// The text travels with data_coding 0 (the SMSC default alphabet), so it is kept
/// to characters that read the same in ASCII, unpacked GSM 7-bit and UTF-8; see
/// [`text`](Self::text).
///
/// ```
/// use std::time::SystemTime;
/// use smpp_server::DeliveryReceipt;
/// use smpp_server::smpp_wire::tlv::NetworkErrorCode;
/// use smpp_server::smpp_wire::{Address, InterfaceVersion, MessageState};
/// let to = Address::international("447700900123").unwrap();
/// let from = Address::international("447700900999").unwrap();
/// let mut r = DeliveryReceipt::new("0a1b2c3d", from, to, MessageState::DELIVERED);
/// r.text = "Hello".into();
/// let v34 = r.to_deliver_sm(InterfaceVersion::V34);
/// assert!(v34.esm_class.is_receipt());
/// assert_eq!(v34.tlvs.receipted_message_id().map(|id| id.as_bytes().to_vec()), Some(b"0a1b2c3d".to_vec()));
/// let v33 = r.to_deliver_sm(InterfaceVersion::V33);
/// assert!(v33.tlvs.is_empty(), "no TLV for a v3.3 session");
/// let mut note = r.clone();
/// (note.state, note.intermediate) = (MessageState::ENROUTE, true);
/// assert_eq!(note.to_deliver_sm(InterfaceVersion::V34).esm_class.0, 0x20, "an intermediate notification");
///
/// // A failed message: its network error goes in a TLV, for v3.4 only; a text
/// // outside the common characters is written with '?'.
/// let mut failed = DeliveryReceipt::new("0a1b2c3e", from, to, MessageState::UNDELIVERABLE);
/// (failed.error, failed.text) = (11, "Grüße @ 5€".into());
/// let gsm_error = NetworkErrorCode { network_type: 3, error_code: 0x22 };
/// failed.network_error = Some(gsm_error);
/// let v34 = failed.to_deliver_sm(InterfaceVersion::V34);
/// assert_eq!(v34.tlvs.network_error_code(), Some(gsm_error));
/// assert_eq!(v34.tlvs.message_state(), Some(MessageState::UNDELIVERABLE));
/// let text = std::str::from_utf8(v34.short_message.as_bytes()).unwrap();
/// assert!(text.ends_with("stat:UNDELIV err:011 text:Gr??e ? 5?"), "{text}");
/// let v33 = failed.to_deliver_sm(InterfaceVersion::V33);
/// assert_eq!(v33.tlvs.network_error_code(), None, "no TLV for a v3.3 session");
/// assert_eq!(v33.short_message, v34.short_message, "the same text");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct DeliveryReceipt {
    /// The message id the submit was answered with.
    pub message_id: String,
    /// The original submit's source (the receipt goes to it).
    pub source: Address<21>,
    /// The original submit's destination (the receipt comes from it).
    pub destination: Address<21>,
    /// The state reached.
    pub state: MessageState,
    /// The `err:` code (three digits in the text).
    pub error: u16,
    /// The network_error_code TLV (v3.4 only), if any.
    pub network_error: Option<NetworkErrorCode>,
    /// When the message was submitted.
    pub submitted: SystemTime,
    /// When it reached this state.
    pub done: SystemTime,
    /// The start of the message's text (the first 20 characters go in `text:`).
    ///
    /// The receipt is sent with data_coding 0, the SMSC default alphabet, which an
    /// ESME may read as GSM 7-bit, ASCII or (commonly) UTF-8. So in the receipt each
    /// character that is not the same in ASCII and in the GSM 7-bit default alphabet
    /// (letters, digits, space and `!"#%&'()*+,-./:;<=>?`) becomes `?`, which
    /// makes the octets read the same whichever way: `Ünïcödé` becomes `?n?c?d?`,
    /// and `@`, `$`, `_`, brackets and control characters become `?` as well.
    pub text: String,
    /// `sub:` (default 1).
    pub submitted_count: u32,
    /// An intermediate notification (esm_class message type 0x20, for a state on
    /// the way such as ENROUTE, asked for with registered_delivery bit 0x10) rather
    /// than a delivery receipt (0x04). Default `false`.
    pub intermediate: bool,
}

impl DeliveryReceipt {
    /// A receipt for `message_id` in `state`, submitted and done now.
    pub fn new(message_id: &str, source: Address<21>, destination: Address<21>, state: MessageState) -> Self {
        let now = SystemTime::now();
        Self {
            message_id: message_id.to_owned(),
            source,
            destination,
            state,
            error: 0,
            network_error: None,
            submitted: now,
            done: now,
            text: String::new(),
            submitted_count: 1,
            intermediate: false,
        }
    }

    /// The receipt's Appendix B fields.
    pub fn receipt(&self) -> Receipt {
        let mut r = Receipt::default();
        r.id = Some(self.message_id.clone());
        r.sub = Some(self.submitted_count);
        r.dlvrd = Some(if self.state == MessageState::DELIVERED { self.submitted_count } else { 0 });
        r.submit_date = ReceiptDate::parse(&receipt_date(self.submitted));
        r.done_date = ReceiptDate::parse(&receipt_date(self.done));
        r.state = Some(self.state);
        r.err = Some(format!("{:03}", self.error.min(999)));
        r.text = Some(self.text.chars().take(20).map(portable).collect());
        r
    }

    /// The deliver_sm carrying it to a session of `version`: TLVs only for v3.4;
    /// esm_class 0x04 (delivery receipt), or 0x20 for an
    /// [`intermediate`](Self::intermediate) notification. The text has data_coding 0
    /// and holds only the characters [`text`](Self::text) describes (one octet
    /// each), at most 254.
    pub fn to_deliver_sm(&self, version: InterfaceVersion) -> DeliverSm {
        let mut d = DeliverSm::default();
        // A receipt travels from the original destination to the original source.
        d.source_addr = self.destination;
        d.destination_addr = self.source;
        d.esm_class = EsmClass(if self.intermediate { 0x20 } else { 0x04 });
        d.registered_delivery = RegisteredDelivery::NONE;
        // Every character is one octet (a message_id outside them is written with '?'
        // too), so cutting at 254 octets cuts no character.
        let mut bytes: Vec<u8> = self.receipt().format().chars().map(portable).map(|c| c as u8).collect();
        bytes.truncate(254);
        d.short_message = ShortMessage::new(bytes).unwrap_or_default();
        if version >= InterfaceVersion::V34 {
            if let Ok(v) = TlvString::new(self.message_id.as_str()) {
                d.tlvs.push(Tlv::ReceiptedMessageId(v));
            }
            d.tlvs.push(Tlv::MessageState(self.state));
            if let Some(e) = self.network_error {
                d.tlvs.push(Tlv::NetworkErrorCode(e));
            }
        }
        d
    }
}

/// `c` if it has the same code in ASCII and in the GSM 7-bit default alphabet (and
/// so the same octet in ASCII, unpacked GSM and UTF-8), otherwise `?`.
fn portable(c: char) -> char {
    if c.is_ascii_alphanumeric() || matches!(c, ' ' | '!' | '"' | '#' | '%'..='?') { c } else { '?' }
}

/// A time as `YYMMDDhhmm` in UTC, the receipt's date form.
pub(crate) fn receipt_date(t: SystemTime) -> String {
    crate::clock::format_date(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// A time as an absolute SMPP time in UTC, `YYMMDDhhmmss000+` (query_sm_resp's
/// final_date).
pub(crate) fn smpp_time(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{}{:02}000+", crate::clock::format_date(secs), secs % 60)
}

#[cfg(test)]
mod tests {
    use smpp_wire::text::{Decoded, decode};
    use smpp_wire::{DataCoding, MessageState};

    use super::*;

    #[test]
    fn the_receipt_text_reads_the_same_as_ascii_gsm_and_utf8() {
        let to = Address::international("447700900123").unwrap();
        let from = Address::international("12345").unwrap();
        let mut r = DeliveryReceipt::new("0a1b2c3d", from, to, MessageState::DELIVERED);
        r.text = "Привет, мир! Ünïcödé and more".into();
        let d = r.to_deliver_sm(InterfaceVersion::V34);
        let octets = d.short_message.as_bytes();
        assert!(octets.iter().all(|b| (0x20..0x7F).contains(b)), "printable ASCII only: {octets:?}");
        let utf8 = std::str::from_utf8(octets).unwrap();
        assert!(utf8.ends_with(" text:??????, ???! ?n?c?d?"), "{utf8}");
        assert_eq!(decode(DataCoding::MC_DEFAULT, octets), Decoded::Text(utf8.to_owned()), "the same read as GSM");
        assert_eq!(r.receipt().text.as_deref(), Some("??????, ???! ?n?c?d?"));
        // The characters whose GSM code differs from ASCII are written with '?'.
        r.text = "a@b $1_[x]".into();
        assert_eq!(r.receipt().text.as_deref(), Some("a?b ?1??x?"));
        // A long message_id and text: cut at 254 octets, whole characters.
        r.message_id = "é".repeat(300);
        r.text = "ü".repeat(20);
        let d = r.to_deliver_sm(InterfaceVersion::V33);
        assert_eq!(d.short_message.as_bytes().len(), 254);
        assert!(d.short_message.as_bytes().iter().all(u8::is_ascii));
    }
}
