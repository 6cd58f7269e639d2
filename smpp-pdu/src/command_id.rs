//! `command_id`: which operation a PDU carries, and the one table of what the spec says
//! about each (its name, who sends it, which versions have it, its response).
//!
//! Everything else that needs these facts (the session's legality and version rules,
//! [`Body::empty_response_for`](crate::Body::empty_response_for)) reads them from
//! [`COMMANDS`] through [`CommandId::info`] instead of listing ids again.

use crate::InterfaceVersion;
use crate::macros::wire_newtype;

/// Defines [`CommandId`] (through `wire_newtype!`) and [`COMMANDS`] from one list of
/// rows, so the set of ids and the facts about each are written once.
///
/// A row is `CONST = value, "spec_name", sender, versions, response, "description";`
/// where `versions` is a Rust range of [`InterfaceVersion`] constants (`V34..` is v3.4
/// and later, `V33..V34` is v3.3 only) and `response` is the response's constant, or
/// `-` for a PDU that has none.
macro_rules! command_table {
    (
        $(#[$meta:meta])*
        pub struct CommandId(u32);
        $(
            $cname:ident = $val:literal, $label:literal, $sender:ident,
            $since:ident .. $($removed:ident)?, $resp:tt, $desc:literal;
        )*
    ) => {
        wire_newtype! {
            $(#[$meta])*
            pub struct CommandId(u32);
            $(
                #[doc = concat!(
                    "Sent by ", command_table!(@sender $sender), "; ",
                    command_table!(@versions $since $($removed)?), ".",
                )]
                $cname = $val, $label, $desc;
            )*
        }

        /// One row per [`COMMANDS`] entry, in the same order: `Row::X as usize` is
        /// the index of `X`'s row.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy)]
        enum Row {
            $( $cname, )*
        }

        static TABLE: [CommandInfo; [$( Row::$cname ),*].len()] = [
            $(
                CommandInfo {
                    id: CommandId::$cname,
                    name: $label,
                    description: $desc,
                    sender: Sender::$sender,
                    since: InterfaceVersion::$since,
                    removed_in: command_table!(@version $($removed)?),
                    response: command_table!(@response $resp),
                },
            )*
        ];

        impl CommandId {
            /// What the spec says about this id: its row in [`COMMANDS`], or `None`
            /// for an id the spec does not name.
            ///
            /// ```
            /// use smpp_wire::{CommandId, InterfaceVersion, Sender};
            /// let info = CommandId::DATA_SM.info().unwrap();
            /// assert_eq!(info.sender, Sender::Either);
            /// assert_eq!(info.response, Some(CommandId::DATA_SM_RESP));
            /// assert!(!info.in_version(InterfaceVersion::V33));
            /// assert_eq!(CommandId(0x0000_0110).info(), None);
            /// ```
            pub const fn info(self) -> Option<&'static CommandInfo> {
                // Row has one variant per TABLE entry, in the same order (both come
                // from the same macro repetition), so the index is always in range.
                #[allow(clippy::indexing_slicing)]
                match self.0 {
                    $( $val => Some(&TABLE[Row::$cname as usize]), )*
                    _ => None,
                }
            }

            /// The index of this id's row in [`COMMANDS`], or `None` for an id the
            /// spec does not name: a dense key for per-command counters.
            ///
            /// ```
            /// use smpp_wire::{COMMANDS, CommandId};
            /// let k = CommandId::SUBMIT_SM.index().unwrap();
            /// assert_eq!(COMMANDS[k].id, CommandId::SUBMIT_SM);
            /// assert_eq!(CommandId(0x0000_0110).index(), None);
            /// ```
            pub const fn index(self) -> Option<usize> {
                match self.0 {
                    $( $val => Some(Row::$cname as usize), )*
                    _ => None,
                }
            }
        }
    };
    (@sender Esme) => { "the ESME" };
    (@sender Smsc) => { "the SMSC" };
    (@sender Either) => { "either side" };
    (@versions $since:ident) => { concat!("since ", command_table!(@name $since)) };
    (@versions $since:ident $removed:ident) => {
        concat!("from ", command_table!(@name $since), ", gone in ", command_table!(@name $removed))
    };
    (@name V33) => { "v3.3" };
    (@name V34) => { "v3.4" };
    (@name V50) => { "v5.0" };
    (@version) => { None };
    (@version $v:ident) => { Some(InterfaceVersion::$v) };
    (@response -) => { None };
    (@response $resp:ident) => { Some(CommandId::$resp) };
}

command_table! {
    /// The `command_id` header field. Bit 31 marks a response.
    ///
    /// A [`Pdu`](crate::Pdu)'s id is derived from its body; this type is for headers,
    /// errors and logs. Unknown ids stay representable. [`CommandId::info`] gives the
    /// spec's facts about a named id (sender, versions, response).
    pub struct CommandId(u32);
    // constant              = command_id,  name,                       sender, versions, response,
    //     description;
    GENERIC_NACK             = 0x8000_0000, "generic_nack",             Either, V33..,    -,
        "negative acknowledgement of an unreadable or unknown PDU";
    BIND_RECEIVER            = 0x0000_0001, "bind_receiver",            Esme,   V33..,    BIND_RECEIVER_RESP,
        "bind as a receiver (MC to ESME traffic)";
    BIND_RECEIVER_RESP       = 0x8000_0001, "bind_receiver_resp",       Smsc,   V33..,    -,
        "response to bind_receiver";
    BIND_TRANSMITTER         = 0x0000_0002, "bind_transmitter",         Esme,   V33..,    BIND_TRANSMITTER_RESP,
        "bind as a transmitter (ESME to MC traffic)";
    BIND_TRANSMITTER_RESP    = 0x8000_0002, "bind_transmitter_resp",    Smsc,   V33..,    -,
        "response to bind_transmitter";
    QUERY_SM                 = 0x0000_0003, "query_sm",                 Esme,   V33..,    QUERY_SM_RESP,
        "query the state of a submitted message";
    QUERY_SM_RESP            = 0x8000_0003, "query_sm_resp",            Smsc,   V33..,    -,
        "response to query_sm";
    SUBMIT_SM                = 0x0000_0004, "submit_sm",                Esme,   V33..,    SUBMIT_SM_RESP,
        "submit a short message";
    SUBMIT_SM_RESP           = 0x8000_0004, "submit_sm_resp",           Smsc,   V33..,    -,
        "response to submit_sm";
    DELIVER_SM               = 0x0000_0005, "deliver_sm",               Smsc,   V33..,    DELIVER_SM_RESP,
        "deliver a short message or receipt to the ESME";
    DELIVER_SM_RESP          = 0x8000_0005, "deliver_sm_resp",          Esme,   V33..,    -,
        "response to deliver_sm";
    UNBIND                   = 0x0000_0006, "unbind",                   Either, V33..,    UNBIND_RESP,
        "end the session";
    UNBIND_RESP              = 0x8000_0006, "unbind_resp",              Either, V33..,    -,
        "response to unbind";
    REPLACE_SM               = 0x0000_0007, "replace_sm",               Esme,   V33..,    REPLACE_SM_RESP,
        "replace a submitted message";
    REPLACE_SM_RESP          = 0x8000_0007, "replace_sm_resp",          Smsc,   V33..,    -,
        "response to replace_sm";
    CANCEL_SM                = 0x0000_0008, "cancel_sm",                Esme,   V33..,    CANCEL_SM_RESP,
        "cancel a submitted message";
    CANCEL_SM_RESP           = 0x8000_0008, "cancel_sm_resp",           Smsc,   V33..,    -,
        "response to cancel_sm";
    BIND_TRANSCEIVER         = 0x0000_0009, "bind_transceiver",         Esme,   V34..,    BIND_TRANSCEIVER_RESP,
        "bind as a transceiver (both directions)";
    BIND_TRANSCEIVER_RESP    = 0x8000_0009, "bind_transceiver_resp",    Smsc,   V34..,    -,
        "response to bind_transceiver";
    OUTBIND                  = 0x0000_000B, "outbind",                  Smsc,   V34..,    -,
        "MC asks the ESME to bind";
    ENQUIRE_LINK             = 0x0000_0015, "enquire_link",             Either, V33..,    ENQUIRE_LINK_RESP,
        "link keep-alive";
    ENQUIRE_LINK_RESP        = 0x8000_0015, "enquire_link_resp",        Either, V33..,    -,
        "response to enquire_link";
    SUBMIT_MULTI             = 0x0000_0021, "submit_multi",             Esme,   V33..,    SUBMIT_MULTI_RESP,
        "submit a message to several destinations";
    SUBMIT_MULTI_RESP        = 0x8000_0021, "submit_multi_resp",        Smsc,   V33..,    -,
        "response to submit_multi";
    PARAM_RETRIEVE           = 0x0000_0022, "param_retrieve",           Esme,   V33..V34, PARAM_RETRIEVE_RESP,
        "read an MC parameter";
    PARAM_RETRIEVE_RESP      = 0x8000_0022, "param_retrieve_resp",      Smsc,   V33..V34, -,
        "response to param_retrieve";
    QUERY_LAST_MSGS          = 0x0000_0023, "query_last_msgs",          Esme,   V33..V34, QUERY_LAST_MSGS_RESP,
        "list the last messages sent";
    QUERY_LAST_MSGS_RESP     = 0x8000_0023, "query_last_msgs_resp",     Smsc,   V33..V34, -,
        "response to query_last_msgs";
    QUERY_MSG_DETAILS        = 0x0000_0024, "query_msg_details",        Esme,   V33..V34, QUERY_MSG_DETAILS_RESP,
        "details of one message";
    QUERY_MSG_DETAILS_RESP   = 0x8000_0024, "query_msg_details_resp",   Smsc,   V33..V34, -,
        "response to query_msg_details";
    ALERT_NOTIFICATION       = 0x0000_0102, "alert_notification",       Smsc,   V34..,    -,
        "MC tells the ESME a mobile is reachable";
    DATA_SM                  = 0x0000_0103, "data_sm",                  Either, V34..,    DATA_SM_RESP,
        "transfer data (either direction)";
    DATA_SM_RESP             = 0x8000_0103, "data_sm_resp",             Either, V34..,    -,
        "response to data_sm";
    BROADCAST_SM             = 0x0000_0111, "broadcast_sm",             Esme,   V50..,    BROADCAST_SM_RESP,
        "submit a cell broadcast";
    BROADCAST_SM_RESP        = 0x8000_0111, "broadcast_sm_resp",        Smsc,   V50..,    -,
        "response to broadcast_sm";
    QUERY_BROADCAST_SM       = 0x0000_0112, "query_broadcast_sm",       Esme,   V50..,    QUERY_BROADCAST_SM_RESP,
        "query a cell broadcast";
    QUERY_BROADCAST_SM_RESP  = 0x8000_0112, "query_broadcast_sm_resp",  Smsc,   V50..,    -,
        "response to query_broadcast_sm";
    CANCEL_BROADCAST_SM      = 0x0000_0113, "cancel_broadcast_sm",      Esme,   V50..,    CANCEL_BROADCAST_SM_RESP,
        "cancel a cell broadcast";
    CANCEL_BROADCAST_SM_RESP = 0x8000_0113, "cancel_broadcast_sm_resp", Smsc,   V50..,    -,
        "response to cancel_broadcast_sm";
}

/// Every `command_id` the spec names (v3.3, v3.4 and v5.0), one row each, in the
/// order of the spec's table (generic_nack first, then by id): the one place the set
/// of ids, their senders, versions and responses are written down.
///
/// ```
/// use smpp_wire::{COMMANDS, CommandId};
/// assert_eq!(COMMANDS.len(), 39);
/// assert!(COMMANDS.iter().any(|c| c.id == CommandId::OUTBIND && c.response.is_none()));
/// ```
pub const COMMANDS: &[CommandInfo] = &TABLE;

/// Which side of a session sends a PDU (reference section 2.2, "Sender").
///
/// Not `#[non_exhaustive]`: SMPP has two sides, and a PDU is sent by one or by either.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Sender {
    /// Only the ESME (the application) sends it: binds, submit_sm, ...
    Esme,
    /// Only the SMSC (the MC of v5.0) sends it: deliver_sm, outbind, ...
    Smsc,
    /// Either side sends it: enquire_link, unbind, data_sm, generic_nack.
    Either,
}

impl Sender {
    /// Whether the ESME may send a PDU with this sender.
    pub const fn esme_sends(self) -> bool {
        matches!(self, Self::Esme | Self::Either)
    }

    /// Whether the SMSC may send a PDU with this sender.
    pub const fn smsc_sends(self) -> bool {
        matches!(self, Self::Smsc | Self::Either)
    }
}

/// What the spec says about one `command_id`: a row of [`COMMANDS`], found with
/// [`CommandId::info`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct CommandInfo {
    /// The id.
    pub id: CommandId,
    /// The spec name, e.g. `"submit_sm"` (also [`CommandId::name`]).
    pub name: &'static str,
    /// What the operation does (also [`CommandId::description`]).
    pub description: &'static str,
    /// Which side sends it. For a response, the side that received the request.
    pub sender: Sender,
    /// The first version that has it.
    pub since: InterfaceVersion,
    /// The first version that no longer has it (`V34` for the v3.3-only PDUs), or
    /// `None` if the latest version still has it.
    pub removed_in: Option<InterfaceVersion>,
    /// The id of its response PDU, or `None` for a response, `outbind` and
    /// `alert_notification`.
    pub response: Option<CommandId>,
}

impl CommandInfo {
    /// Whether a peer speaking `version` knows this PDU: `since <= version`, and
    /// `version < removed_in` if it was removed.
    ///
    /// ```
    /// use smpp_wire::{CommandId, InterfaceVersion};
    /// let v33_only = CommandId::QUERY_LAST_MSGS.info().unwrap();
    /// assert!(v33_only.in_version(InterfaceVersion::V33));
    /// assert!(!v33_only.in_version(InterfaceVersion::V34));
    /// ```
    pub const fn in_version(&self, version: InterfaceVersion) -> bool {
        let removed = match self.removed_in {
            Some(removed) => version.0 >= removed.0,
            None => false,
        };
        self.since.0 <= version.0 && !removed
    }

    /// Whether this row is a response (bit 31 of the id; `generic_nack` included).
    pub const fn is_response(&self) -> bool {
        self.id.is_response()
    }
}

impl CommandId {
    /// Whether bit 31 is set (a response, `generic_nack` included).
    pub const fn is_response(self) -> bool {
        self.0 & 0x8000_0000 != 0
    }

    /// The id of the response to this request (sets bit 31).
    ///
    /// For every request that has a response this is its [`CommandInfo::response`];
    /// for any other id it is only the bit operation.
    pub const fn response(self) -> Self {
        Self(self.0 | 0x8000_0000)
    }

    /// Whether this id names a request that has a response PDU ([`CommandInfo::response`]).
    ///
    /// False for responses, `outbind`, `alert_notification` and unknown ids.
    pub const fn has_response(self) -> bool {
        match self.info() {
            Some(info) => info.response.is_some(),
            None => false,
        }
    }
}

impl core::fmt::Display for CommandId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "command_id {:#010x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn table_names_every_named_id_exactly_once() {
        let ids: HashSet<_> = COMMANDS.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), COMMANDS.len(), "an id has two rows");
        for row in COMMANDS {
            assert_eq!(row.id.info(), Some(row), "{row:?}");
            assert_eq!(row.id.name(), Some(row.name));
            assert_eq!(row.id.description(), Some(row.description));
        }
        // Every id the codec can name (any value with a name) has a row, and only those.
        let named =
            (0..=0x1FFu32).flat_map(|v| [CommandId(v), CommandId(v | 0x8000_0000)]).filter(|id| id.name().is_some());
        assert_eq!(named.clone().count(), COMMANDS.len());
        assert!(named.clone().all(|id| id.info().is_some()));
        assert_eq!(CommandId(0x0000_0110).info(), None);
        assert_eq!(CommandId(0x8000_0110).info(), None);
    }

    #[test]
    fn table_responses_pair_up_with_their_requests() {
        let mut answered = HashSet::new();
        for row in COMMANDS {
            let Some(response) = row.response else {
                continue;
            };
            assert!(!row.is_response(), "{}: a response has no response", row.name);
            assert_eq!(response, row.id.response(), "{}: its response sets bit 31", row.name);
            let resp = response.info().unwrap_or_else(|| panic!("{}: response not in the table", row.name));
            assert!(resp.is_response(), "{}", row.name);
            assert_eq!(resp.response, None, "{}", row.name);
            assert_eq!((resp.since, resp.removed_in), (row.since, row.removed_in), "{}: versions", row.name);
            let answered_by = match row.sender {
                Sender::Esme => Sender::Smsc,
                Sender::Smsc => Sender::Esme,
                Sender::Either => Sender::Either,
            };
            assert_eq!(resp.sender, answered_by, "{}: the receiver of a request sends its response", row.name);
            assert!(answered.insert(response), "{}: response shared", row.name);
            assert_eq!(resp.name, format!("{}_resp", row.name));
        }
        // Every response but generic_nack answers exactly one request.
        let responses = COMMANDS.iter().filter(|c| c.is_response() && c.id != CommandId::GENERIC_NACK);
        assert!(responses.clone().all(|c| answered.contains(&c.id)));
        assert_eq!(responses.count(), answered.len());
    }

    #[test]
    fn table_matches_the_reference() {
        // Reference section 2.2: v3.4 has 27 PDUs (14 requests, 13 responses with
        // generic_nack), v5.0 adds 6, and v3.3 has 3 pairs that v3.4 dropped.
        let count = |v| COMMANDS.iter().filter(|c| c.in_version(v)).count();
        assert_eq!(count(InterfaceVersion::V34), 27);
        assert_eq!(count(InterfaceVersion::V50), 33);
        let v34_requests = COMMANDS.iter().filter(|c| c.in_version(InterfaceVersion::V34) && !c.is_response());
        assert_eq!(v34_requests.count(), 14);
        let v33_only: Vec<_> = COMMANDS
            .iter()
            .filter(|c| c.in_version(InterfaceVersion::V33) && !c.in_version(InterfaceVersion::V34))
            .map(|c| c.id)
            .collect();
        assert_eq!(v33_only.len(), 6);
        assert!(v33_only.contains(&CommandId::PARAM_RETRIEVE));
        assert!(!CommandId::BIND_TRANSCEIVER.info().is_some_and(|c| c.in_version(InterfaceVersion::V33)));
        assert!(!CommandId::BROADCAST_SM.info().is_some_and(|c| c.in_version(InterfaceVersion::V34)));
        assert!(!CommandId::OUTBIND.has_response());
        assert!(!CommandId::ALERT_NOTIFICATION.has_response());
        assert!(!CommandId::GENERIC_NACK.has_response());
        assert!(!CommandId(0x0000_0110).has_response());
        assert!(CommandId::SUBMIT_SM.has_response());
    }

    #[test]
    fn senders_and_display() {
        assert_eq!(CommandId::DATA_SM.info().map(|c| c.sender), Some(Sender::Either));
        assert_eq!(CommandId::DELIVER_SM_RESP.info().map(|c| c.sender), Some(Sender::Esme));
        assert_eq!(format!("{:?}", CommandId::PARAM_RETRIEVE), "param_retrieve");
        assert_eq!(CommandId::PARAM_RETRIEVE.to_string(), "param_retrieve");
        assert_eq!(CommandId(0x110).to_string(), "command_id 0x00000110");
    }
}
