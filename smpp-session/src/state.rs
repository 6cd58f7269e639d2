//! Session states, bind modes, roles, and the table of which request may travel in
//! which direction in which state (reference section 5.3).

use smpp_pdu::{CommandId, InterfaceVersion};

/// Which side of the protocol a session plays.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Role {
    /// The application (client) side.
    Esme,
    /// The SMS centre (server) side.
    Smsc,
}

/// How an ESME is bound.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum BindMode {
    /// bind_transmitter: ESME to SMSC traffic.
    Transmitter,
    /// bind_receiver: SMSC to ESME traffic.
    Receiver,
    /// bind_transceiver: both (v3.4 and later).
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

/// Who sends a request.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Sender {
    Esme,
    Smsc,
}

/// Which side sends a request, for the application-level requests.
pub(crate) const fn sender_of(id: CommandId) -> Option<Sender> {
    match id {
        CommandId::SUBMIT_SM
        | CommandId::SUBMIT_MULTI
        | CommandId::QUERY_SM
        | CommandId::CANCEL_SM
        | CommandId::REPLACE_SM
        | CommandId::BROADCAST_SM
        | CommandId::QUERY_BROADCAST_SM
        | CommandId::CANCEL_BROADCAST_SM => Some(Sender::Esme),
        CommandId::DELIVER_SM | CommandId::ALERT_NOTIFICATION => Some(Sender::Smsc),
        _ => None,
    }
}

/// Whether `id`, sent by `from`, may travel in bind mode `mode`.
///
/// ESME requests need a transmitter or transceiver bind; SMSC requests a receiver or
/// transceiver bind; data_sm goes either way, ESME to SMSC on TX/TRX and SMSC to ESME
/// on RX/TRX (the v5.0 reading, which v3.4 practice follows).
pub(crate) fn allowed(id: CommandId, from: Sender, mode: BindMode) -> bool {
    match (id, from) {
        (CommandId::DATA_SM, Sender::Esme) => mode.esme_sends(),
        (CommandId::DATA_SM, Sender::Smsc) => mode.smsc_sends(),
        _ => match sender_of(id) {
            Some(s) if s == from => match from {
                Sender::Esme => mode.esme_sends(),
                Sender::Smsc => mode.smsc_sends(),
            },
            _ => false,
        },
    }
}

/// The version a bind's `interface_version` means on the platform we serve: 0x34 is
/// v3.4 and 0x50 v5.0 (TLVs and bind_transceiver allowed); anything else is v3.3.
///
/// ```
/// use smpp_session::{effective_version, smpp_pdu::InterfaceVersion};
/// assert_eq!(effective_version(InterfaceVersion(0x7B)), InterfaceVersion::V33);
/// ```
pub const fn effective_version(requested: InterfaceVersion) -> InterfaceVersion {
    match requested.0 {
        0x34 => InterfaceVersion::V34,
        0x50 => InterfaceVersion::V50,
        _ => InterfaceVersion::V33,
    }
}

/// PDUs that do not exist in v3.3.
pub(crate) const fn needs_v34(id: CommandId) -> bool {
    matches!(
        id,
        CommandId::DATA_SM
            | CommandId::BIND_TRANSCEIVER
            | CommandId::ALERT_NOTIFICATION
            | CommandId::OUTBIND
            | CommandId::BROADCAST_SM
            | CommandId::QUERY_BROADCAST_SM
            | CommandId::CANCEL_BROADCAST_SM
    )
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn who_may_send_what() {
        use BindMode::*;
        assert!(allowed(CommandId::SUBMIT_SM, Sender::Esme, Transmitter));
        assert!(allowed(CommandId::SUBMIT_SM, Sender::Esme, Transceiver));
        assert!(!allowed(CommandId::SUBMIT_SM, Sender::Esme, Receiver));
        assert!(!allowed(CommandId::SUBMIT_SM, Sender::Smsc, Transceiver));
        assert!(allowed(CommandId::DELIVER_SM, Sender::Smsc, Receiver));
        assert!(!allowed(CommandId::DELIVER_SM, Sender::Smsc, Transmitter));
        assert!(!allowed(CommandId::DELIVER_SM, Sender::Esme, Transceiver));
        assert!(allowed(CommandId::DATA_SM, Sender::Esme, Transmitter));
        assert!(!allowed(CommandId::DATA_SM, Sender::Esme, Receiver));
        assert!(allowed(CommandId::DATA_SM, Sender::Smsc, Receiver));
        assert!(!allowed(CommandId::QUERY_SM, Sender::Esme, Receiver));
        assert!(allowed(CommandId::REPLACE_SM, Sender::Esme, Transceiver));
        assert!(allowed(CommandId::ALERT_NOTIFICATION, Sender::Smsc, Receiver));
        assert!(!allowed(CommandId::ENQUIRE_LINK, Sender::Esme, Transceiver), "session-run PDUs are not in the table");
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
