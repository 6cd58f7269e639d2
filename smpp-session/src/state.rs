//! Session states, bind modes, roles, and the rules for which request may travel in
//! which direction in which state (reference section 5.3), read from the command
//! table of `smpp-wire` ([`CommandId::info`]).

use smpp_wire::{CommandId, InterfaceVersion};

use crate::request::Request;

/// Which side of the protocol a session plays.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Role {
    /// The application (client) side.
    Esme,
    /// The SMS centre (server) side.
    Smsc,
}

/// How an ESME is bound. With the feature `serde`: `"transmitter"`, `"receiver"`,
/// `"transceiver"` (also read from `"tx"`, `"rx"`, `"trx"`).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "lowercase"))]
pub enum BindMode {
    /// bind_transmitter: ESME to SMSC traffic.
    #[cfg_attr(feature = "serde", serde(alias = "tx"))]
    Transmitter,
    /// bind_receiver: SMSC to ESME traffic.
    #[cfg_attr(feature = "serde", serde(alias = "rx"))]
    Receiver,
    /// bind_transceiver: both (v3.4 and later).
    #[cfg_attr(feature = "serde", serde(alias = "trx"))]
    Transceiver,
}

impl BindMode {
    /// The bind request's command_id.
    pub const fn command_id(self) -> CommandId {
        match self {
            Self::Transmitter => CommandId::BIND_TRANSMITTER,
            Self::Receiver => CommandId::BIND_RECEIVER,
            Self::Transceiver => CommandId::BIND_TRANSCEIVER,
        }
    }

    /// The mode a bind command_id asks for.
    pub const fn from_command_id(id: CommandId) -> Option<Self> {
        match id {
            CommandId::BIND_TRANSMITTER => Some(Self::Transmitter),
            CommandId::BIND_RECEIVER => Some(Self::Receiver),
            CommandId::BIND_TRANSCEIVER => Some(Self::Transceiver),
            _ => None,
        }
    }

    /// Whether the ESME may send in this mode.
    pub const fn esme_sends(self) -> bool {
        matches!(self, Self::Transmitter | Self::Transceiver)
    }

    /// Whether the SMSC may send in this mode.
    pub const fn smsc_sends(self) -> bool {
        matches!(self, Self::Receiver | Self::Transceiver)
    }
}

/// The state of a session (reference section 5.1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum SessionState {
    /// Connected, not bound (an ESME's bind may be in flight).
    Open,
    /// Outbind sent (SMSC) or received (ESME); the ESME's bind is due.
    Outbound,
    /// Bound in the given mode.
    Bound(BindMode),
    /// An unbind was sent or received; no new traffic.
    Unbound,
    /// Closed.
    Closed,
}

impl Role {
    /// Whether this side sends `id`, by the sender column of the command table
    /// ([`CommandId::info`]). False for an id the spec does not name.
    pub(crate) const fn sends(self, id: CommandId) -> bool {
        let Some(info) = id.info() else {
            return false;
        };
        match self {
            Self::Esme => info.sender.esme_sends(),
            Self::Smsc => info.sender.smsc_sends(),
        }
    }

    /// Whether this side may send message traffic in bind mode `mode`.
    pub(crate) const fn sends_in(self, mode: BindMode) -> bool {
        match self {
            Self::Esme => mode.esme_sends(),
            Self::Smsc => mode.smsc_sends(),
        }
    }
}

/// Whether the application-level request `id` (a [`Request`]), sent by `from`, may
/// travel in bind mode `mode` (reference section 5.3).
///
/// `from` must be a sender of `id` in the command table, and the bind must carry
/// traffic from `from`: ESME requests need a transmitter or transceiver bind, SMSC
/// requests a receiver or transceiver bind. So data_sm, which either side sends, goes
/// ESME to SMSC on TX/TRX and SMSC to ESME on RX/TRX (the v5.0 reading, which v3.4
/// practice follows). The PDUs the session runs itself (binds, unbind, enquire_link,
/// outbind, generic_nack) are not requests and are never allowed here.
pub(crate) fn allowed(id: CommandId, from: Role, mode: BindMode) -> bool {
    Request::is_request_id(id) && from.sends(id) && from.sends_in(mode)
}

/// The version a bind's `interface_version` means on the platform we serve: 0x34 is
/// v3.4 and 0x50 v5.0 (TLVs and bind_transceiver allowed); anything else is v3.3.
///
/// ```
/// use smpp_session::{effective_version, smpp_wire::InterfaceVersion};
/// assert_eq!(effective_version(InterfaceVersion(0x7B)), InterfaceVersion::V33);
/// ```
pub const fn effective_version(requested: InterfaceVersion) -> InterfaceVersion {
    match requested.0 {
        0x34 => InterfaceVersion::V34,
        0x50 => InterfaceVersion::V50,
        _ => InterfaceVersion::V33,
    }
}

/// Whether `id` is a PDU that v3.3 does not have but later versions do (the command
/// table's versions: bind_transceiver, outbind, data_sm, alert_notification, the v5.0
/// broadcast family).
pub(crate) fn needs_v34(id: CommandId) -> bool {
    id.info().is_some_and(|info| !info.in_version(InterfaceVersion::V33))
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn who_may_send_what() {
        use BindMode::*;
        assert!(allowed(CommandId::SUBMIT_SM, Role::Esme, Transmitter));
        assert!(allowed(CommandId::SUBMIT_SM, Role::Esme, Transceiver));
        assert!(!allowed(CommandId::SUBMIT_SM, Role::Esme, Receiver));
        assert!(!allowed(CommandId::SUBMIT_SM, Role::Smsc, Transceiver));
        assert!(allowed(CommandId::DELIVER_SM, Role::Smsc, Receiver));
        assert!(!allowed(CommandId::DELIVER_SM, Role::Smsc, Transmitter));
        assert!(!allowed(CommandId::DELIVER_SM, Role::Esme, Transceiver));
        assert!(allowed(CommandId::DATA_SM, Role::Esme, Transmitter));
        assert!(!allowed(CommandId::DATA_SM, Role::Esme, Receiver));
        assert!(allowed(CommandId::DATA_SM, Role::Smsc, Receiver));
        assert!(!allowed(CommandId::QUERY_SM, Role::Esme, Receiver));
        assert!(allowed(CommandId::REPLACE_SM, Role::Esme, Transceiver));
        assert!(allowed(CommandId::ALERT_NOTIFICATION, Role::Smsc, Receiver));
        assert!(!allowed(CommandId::ENQUIRE_LINK, Role::Esme, Transceiver), "session-run PDUs are not in the table");
        assert!(!allowed(CommandId::DATA_SM, Role::Smsc, Transmitter));
        assert!(allowed(CommandId::DATA_SM, Role::Smsc, Transceiver));
        assert!(!allowed(CommandId::ALERT_NOTIFICATION, Role::Smsc, Transmitter));
        assert!(!allowed(CommandId::ALERT_NOTIFICATION, Role::Esme, Transceiver));
        assert!(allowed(CommandId::BROADCAST_SM, Role::Esme, Transmitter));
        assert!(!allowed(CommandId::CANCEL_BROADCAST_SM, Role::Smsc, Transceiver));
        assert!(!allowed(CommandId::BIND_TRANSMITTER, Role::Esme, Transmitter));
        assert!(!allowed(CommandId::SUBMIT_SM_RESP, Role::Smsc, Transceiver));
        assert!(!allowed(CommandId(0x0000_0110), Role::Esme, Transceiver));
    }

    #[test]
    fn senders_and_versions_come_from_the_command_table() {
        assert!(Role::Esme.sends(CommandId::SUBMIT_SM) && !Role::Smsc.sends(CommandId::SUBMIT_SM));
        assert!(Role::Esme.sends(CommandId::QUERY_BROADCAST_SM));
        assert!(Role::Smsc.sends(CommandId::DELIVER_SM) && !Role::Esme.sends(CommandId::DELIVER_SM));
        assert!(Role::Smsc.sends(CommandId::ALERT_NOTIFICATION));
        assert!(!Role::Esme.sends(CommandId(0x0000_0110)) && !Role::Smsc.sends(CommandId(0x0000_0110)));
        assert!(Role::Esme.sends(CommandId::DATA_SM) && Role::Smsc.sends(CommandId::DATA_SM));
        assert!(!Role::Esme.sends(CommandId::OUTBIND));

        let v34_on: Vec<_> = [
            CommandId::BIND_TRANSCEIVER,
            CommandId::OUTBIND,
            CommandId::ALERT_NOTIFICATION,
            CommandId::DATA_SM,
            CommandId::BROADCAST_SM,
            CommandId::QUERY_BROADCAST_SM,
            CommandId::CANCEL_BROADCAST_SM,
        ]
        .into_iter()
        .filter(|&id| !needs_v34(id))
        .collect();
        assert_eq!(v34_on, []);
        assert!(!needs_v34(CommandId::SUBMIT_SM));
        assert!(!needs_v34(CommandId::PARAM_RETRIEVE), "v3.3-only");
        assert!(!needs_v34(CommandId(0x0000_0110)));
    }

    #[test]
    fn every_request_has_a_sender_and_a_version_in_the_command_table() {
        let requests: Vec<_> = smpp_wire::COMMANDS.iter().filter(|c| Request::is_request_id(c.id)).collect();
        assert_eq!(requests.len(), 11, "one row per Request variant");
        for row in requests {
            assert!(!row.is_response(), "{}", row.name);
            assert!(row.in_version(InterfaceVersion::V50), "{}: a current PDU", row.name);
            let modes = [BindMode::Transmitter, BindMode::Receiver, BindMode::Transceiver];
            assert!(
                [Role::Esme, Role::Smsc].iter().any(|&r| modes.iter().any(|&m| allowed(row.id, r, m))),
                "{}: no one may ever send it",
                row.name
            );
        }
    }

    #[test]
    fn platform_version_rule() {
        assert_eq!(effective_version(InterfaceVersion(0x34)), InterfaceVersion::V34);
        assert_eq!(effective_version(InterfaceVersion(0x50)), InterfaceVersion::V50);
        assert_eq!(effective_version(InterfaceVersion(0x33)), InterfaceVersion::V33);
        assert_eq!(effective_version(InterfaceVersion(0x7B)), InterfaceVersion::V33);
        assert_eq!(effective_version(InterfaceVersion(0x00)), InterfaceVersion::V33);
    }
}
