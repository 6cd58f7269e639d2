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
    /// Vendor keys the text carried besides the standard ones (`msisdn:`, `mccmnc:`,
    /// `imsi:`, ...), as `(key as sent, value)` in the order they came. Not written
    /// by [`format`](Self::format).
    pub extra: Vec<(String, String)>,
}

/// The keys of the Appendix B text and their spelling variants (the two-word date
/// keys are matched separately).
const KEYS: [(&str, Field); 8] = [
    ("id", Field::Id),
    ("sub", Field::Sub),
    ("dlvrd", Field::Dlvrd),
    ("submit_date", Field::SubmitDate),
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

/// The whitespace-delimited words of `text`, as byte ranges.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        match (b.is_ascii_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// A key found at a word: which one, where its value starts in the text, and how many
/// words the key takes (two for `submit date:` and `done date:`).
#[derive(Clone, Copy, Debug)]
struct Key<'a> {
    /// A known field, or `None` for a vendor key.
    field: Option<Field>,
    /// The key as sent (the first word of a two-word key only for known keys).
    name: &'a str,
    /// Where the value starts (right after the ':').
    value_start: usize,
    /// Words the key occupies.
    words: usize,
}

/// The key starting at word `k` of `text`, if that word starts one: `word:` (a known
/// or vendor key, the value possibly in the same word), or `submit date:` /
/// `done date:`.
fn key_at<'a>(text: &'a str, words: &[(usize, usize)], k: usize) -> Option<Key<'a>> {
    let &(start, end) = words.get(k)?;
    let word = text.get(start..end)?;
    if word.eq_ignore_ascii_case("submit") || word.eq_ignore_ascii_case("done") {
        let &(next_start, next_end) = words.get(k + 1)?;
        let next = text.get(next_start..next_end)?;
        if next.get(..5).is_some_and(|d| d.eq_ignore_ascii_case("date:")) {
            let field = if word.eq_ignore_ascii_case("submit") { Field::SubmitDate } else { Field::DoneDate };
            return Some(Key { field: Some(field), name: word, value_start: next_start + 5, words: 2 });
        }
        return None;
    }
    let colon = word.find(':')?;
    let name = word.get(..colon)?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
        return None;
    }
    let field = KEYS.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, f)| *f);
    Some(Key { field, name, value_start: start + colon + 1, words: 1 })
}

impl Receipt {
    /// Parses receipt text, tolerating missing and extra fields, any order, any case,
    /// `submit_date` spellings, decimal, hex or zero-padded ids, 10- or 12-digit dates
    /// and a truncated text. `None` if it has neither an id nor a state.
    ///
    /// Each value is one whitespace-delimited word (`key:value`, or `key: value`),
    /// except `text:`, whose value is the rest of the receipt whatever it contains.
    /// Vendor keys (`msisdn:`, `mccmnc:`, ...) may sit anywhere; they are kept in
    /// [`extra`](Self::extra) and never leak into the known values. A `stat:` word
    /// that names no known state is kept in [`stat`](Self::stat) with `state` `None`.
    ///
    /// ```
    /// use smpp_wire::text::Receipt;
    /// use smpp_wire::MessageState;
    /// let r = Receipt::parse("id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD err:000 text:Hi").unwrap();
    /// assert_eq!(r.id.as_deref(), Some("0059113978"));
    /// assert_eq!(r.state, Some(MessageState::DELIVERED));
    /// assert_eq!(r.text.as_deref(), Some("Hi"));
    /// let r = Receipt::parse("id:43 msisdn:447700900123 stat:DELIVRD mccmnc:23415 err:000").unwrap();
    /// assert_eq!((r.id.as_deref(), r.state), (Some("43"), Some(MessageState::DELIVERED)));
    /// assert_eq!(r.extra[1], ("mccmnc".to_owned(), "23415".to_owned()));
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let words = words(text);
        let mut r = Self::default();
        let mut k = 0;
        while k < words.len() {
            let Some(key) = key_at(text, &words, k) else {
                // A stray word belonging to no key.
                k += 1;
                continue;
            };
            if key.field == Some(Field::Text) {
                // The rest is the message text, whatever it contains.
                r.text = Some(text.get(key.value_start..).unwrap_or_default().trim_start().to_owned());
                break;
            }
            k += key.words;
            // The value: the rest of the key's last word, or else the next word
            // unless that starts a key itself (`key: value`).
            let last_end = words.get(k - 1).map_or(text.len(), |w| w.1);
            let mut value = text.get(key.value_start..last_end).unwrap_or_default();
            if value.is_empty()
                && key_at(text, &words, k).is_none()
                && let Some(next) = words.get(k).and_then(|&(s, e)| text.get(s..e))
            {
                value = next;
                k += 1;
            }
            match key.field {
                Some(Field::Id) => r.id = Some(value.to_owned()),
                Some(Field::Sub) => r.sub = value.parse().ok(),
                Some(Field::Dlvrd) => r.dlvrd = value.parse().ok(),
                Some(Field::SubmitDate) => r.submit_date = ReceiptDate::parse(value),
                Some(Field::DoneDate) => r.done_date = ReceiptDate::parse(value),
                Some(Field::Stat) => {
                    r.state = MessageState::from_receipt_stat(value.as_bytes()).or_else(|| stat_alias(value));
                    r.stat = Some(value.to_owned());
                }
                Some(Field::Err) => r.err = Some(value.to_owned()),
                Some(Field::Text) => {}
                None => r.extra.push((key.name.to_owned(), value.to_owned())),
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
