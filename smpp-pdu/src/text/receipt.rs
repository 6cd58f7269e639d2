//! Delivery receipts: the v3.4 Appendix B text (`id:... sub:... dlvrd:... submit
//! date:... done date:... stat:... err:... text:...`) in the forms real SMSCs send,
//! combined with the receipted_message_id, message_state and network_error_code TLVs
//! (the TLVs win where both exist).

use crate::tlv::NetworkErrorCode;
use crate::{DeliverSm, MessageState};

/// A receipt date: `YYMMDDhhmm`, or `YYMMDDhhmmss`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ReceiptDate {
    /// Two-digit year.
    pub year: u8,
    /// Month.
    pub month: u8,
    /// Day.
    pub day: u8,
    /// Hour.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second, in the 12-digit form.
    pub second: Option<u8>,
}

impl ReceiptDate {
    /// Parses 10 or 12 digits.
    pub fn parse(s: &str) -> Option<Self> {
        let d: Vec<u8> = s.bytes().map(|b| b.wrapping_sub(b'0')).collect();
        if !(s.len() == 10 || s.len() == 12) || d.iter().any(|x| *x > 9) {
            return None;
        }
        let two = |k: usize| Some(d.get(k)? * 10 + d.get(k + 1)?);
        Some(Self {
            year: two(0)?,
            month: two(2)?,
            day: two(4)?,
            hour: two(6)?,
            minute: two(8)?,
            second: if s.len() == 12 { two(10) } else { None },
        })
    }
}

impl core::fmt::Display for ReceiptDate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02}{:02}{:02}{:02}{:02}", self.year, self.month, self.day, self.hour, self.minute)?;
        match self.second {
            Some(s) => write!(f, "{s:02}"),
            None => Ok(()),
        }
    }
}

/// A parsed delivery receipt. Every field is optional except that a receipt has at
/// least an id or a state.
#[non_exhaustive]
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Receipt {
    /// The message id (text `id:`, or the receipted_message_id TLV, which wins).
    pub id: Option<String>,
    /// The id as the text gave it, when a TLV gave `id` (they may differ in base).
    pub text_id: Option<String>,
    /// `sub:` messages submitted.
    pub sub: Option<u32>,
    /// `dlvrd:` messages delivered.
    pub dlvrd: Option<u32>,
    /// `submit date:`.
    pub submit_date: Option<ReceiptDate>,
    /// `done date:`.
    pub done_date: Option<ReceiptDate>,
    /// The final state (the message_state TLV, or the `stat:` word).
    pub state: Option<MessageState>,
    /// The `stat:` word as sent.
    pub stat: Option<String>,
    /// `err:` as sent.
    pub err: Option<String>,
    /// The network_error_code TLV.
    pub network_error: Option<NetworkErrorCode>,
    /// `text:` (the start of the original message), possibly truncated.
    pub text: Option<String>,
}

/// The keys of the Appendix B text and their spelling variants.
const KEYS: [(&str, Field); 10] = [
    ("id", Field::Id),
    ("sub", Field::Sub),
    ("dlvrd", Field::Dlvrd),
    ("submit date", Field::SubmitDate),
    ("submit_date", Field::SubmitDate),
    ("done date", Field::DoneDate),
    ("done_date", Field::DoneDate),
    ("stat", Field::Stat),
    ("err", Field::Err),
    ("text", Field::Text),
];

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Field {
    Id,
    Sub,
    Dlvrd,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Text,
}

impl Receipt {
    /// Parses receipt text, tolerating missing and extra fields, any order, any case,
    /// `submit_date` spellings, decimal, hex or zero-padded ids, 10- or 12-digit dates
    /// and a truncated text. `None` if it has neither an id nor a state.
    ///
    /// ```
    /// use smpp_pdu::text::Receipt;
    /// use smpp_pdu::MessageState;
    /// let r = Receipt::parse("id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD err:000 text:Hi").unwrap();
    /// assert_eq!(r.id.as_deref(), Some("0059113978"));
    /// assert_eq!(r.state, Some(MessageState::DELIVERED));
    /// assert_eq!(r.text.as_deref(), Some("Hi"));
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.to_ascii_lowercase();
        // Find every key at a word start, followed by ':'. Once `text:` is found the
        // rest is the message text, whatever it contains.
        let mut found: Vec<(usize, usize, Field)> = Vec::new();
        let bytes = lower.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let at_word = i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace);
            if at_word
                && let Some((key, field)) = KEYS.iter().find(|(k, _)| {
                    lower
                        .get(i..)
                        .is_some_and(|rest| rest.starts_with(k) && rest.as_bytes().get(k.len()) == Some(&b':'))
                })
            {
                found.push((i, i + key.len() + 1, *field));
                if *field == Field::Text {
                    break;
                }
                i += key.len() + 1;
                continue;
            }
            i += 1;
        }
        let mut r = Self::default();
        for (k, (_, value_start, field)) in found.iter().enumerate() {
            let end = found.get(k + 1).map_or(text.len(), |next| next.0);
            let raw = text.get(*value_start..end).unwrap_or_default();
            let value = if *field == Field::Text { raw.trim_start() } else { raw.trim() };
            match field {
                Field::Id => r.id = Some(value.to_owned()),
                Field::Sub => r.sub = value.parse().ok(),
                Field::Dlvrd => r.dlvrd = value.parse().ok(),
                Field::SubmitDate => r.submit_date = ReceiptDate::parse(value),
                Field::DoneDate => r.done_date = ReceiptDate::parse(value),
                Field::Stat => {
                    r.state = MessageState::from_receipt_stat(value.as_bytes()).or_else(|| stat_alias(value));
                    r.stat = Some(value.to_owned());
                }
                Field::Err => r.err = Some(value.to_owned()),
                Field::Text => r.text = Some(value.to_owned()),
            }
        }
        (r.id.is_some() || r.state.is_some()).then_some(r)
    }

    /// The receipt a deliver_sm carries (receipt text in short_message or
    /// message_payload, and the TLVs, which win), or `None` if it is not a receipt.
    pub fn from_deliver_sm(d: &DeliverSm) -> Option<Self> {
        if !d.esm_class.is_receipt() {
            return None;
        }
        let payload = d.tlvs.message_payload();
        let octets = if d.short_message.is_empty() { payload.as_ref().map(|p| p.as_bytes()) } else { None };
        let text = String::from_utf8_lossy(octets.unwrap_or(d.short_message.as_bytes())).into_owned();
        let mut r = Self::parse(&text).unwrap_or_default();
        if let Some(id) = d.tlvs.receipted_message_id()
            && let Some(id) = id.as_str()
        {
            r.text_id = r.id.take();
            r.id = Some(id.to_owned());
        }
        if let Some(state) = d.tlvs.message_state() {
            r.state = Some(state);
        }
        r.network_error = d.tlvs.network_error_code();
        (r.id.is_some() || r.state.is_some()).then_some(r)
    }

    /// The Appendix B text of this receipt.
    pub fn format(&self) -> String {
        let date = |d: &Option<ReceiptDate>| d.map(|d| d.to_string()).unwrap_or_default();
        format!(
            "id:{} sub:{:03} dlvrd:{:03} submit date:{} done date:{} stat:{} err:{} text:{}",
            self.id.as_deref().unwrap_or_default(),
            self.sub.unwrap_or(1),
            self.dlvrd.unwrap_or(u32::from(self.state == Some(MessageState::DELIVERED))),
            date(&self.submit_date),
            date(&self.done_date),
            self.stat.as_deref().or_else(|| self.state.and_then(MessageState::receipt_stat)).unwrap_or("UNKNOWN"),
            self.err.as_deref().unwrap_or("000"),
            self.text.as_deref().unwrap_or_default(),
        )
    }
}

/// Full-word state names some SMSCs send instead of the 7-letter codes.
fn stat_alias(value: &str) -> Option<MessageState> {
    let v = value.to_ascii_uppercase();
    Some(match v.as_str() {
        "DELIVERED" => MessageState::DELIVERED,
        "EXPIRED" => MessageState::EXPIRED,
        "DELETED" => MessageState::DELETED,
        "UNDELIVERABLE" | "UNDELIVERED" => MessageState::UNDELIVERABLE,
        "ACCEPTED" => MessageState::ACCEPTED,
        "REJECTED" => MessageState::REJECTED,
        "ENROUTE" | "EN_ROUTE" => MessageState::ENROUTE,
        _ => return None,
    })
}
