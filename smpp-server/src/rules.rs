//! The platform's rules that both ready handlers (the simulator and the gateway)
//! hold their ESMEs to: who may bind, and what a v3.3 session may not send.

use std::collections::HashMap;

use smpp_session::{BindMode, Request, effective_version};
use smpp_wire::{CommandStatus, InterfaceVersion};

use crate::handler::BindInfo;

/// Checks a bind against `accounts` (system_id to password), the system_type they
/// must bind with, and v3.3's lack of bind_transceiver (unless `lenient`); the
/// system_id, or the status to refuse with. Refusals for a reason the ESME may not
/// see at once are logged.
pub(crate) fn check_bind(
    bind: &BindInfo,
    accounts: &HashMap<String, String>,
    system_type: Option<&str>,
    lenient: bool,
) -> Result<String, CommandStatus> {
    let system_id = bind.system_id();
    let Some(password) = accounts.get(&system_id) else { return Err(CommandStatus::ESME_RINVSYSID) };
    if !bind.password_is(password) {
        return Err(CommandStatus::ESME_RINVPASWD);
    }
    if let Some(wanted) = system_type
        && bind.system_type() != wanted
    {
        tracing::info!(%system_id, system_type = %bind.system_type(), %wanted, "bind refused: wrong system_type");
        return Err(CommandStatus::ESME_RINVSYSTYP);
    }
    let v33 = effective_version(bind.bind.interface_version) < InterfaceVersion::V34;
    if v33 && bind.mode == BindMode::Transceiver && !lenient {
        tracing::info!(%system_id, version = ?bind.bind.interface_version, "bind refused: v3.3 has no bind_transceiver (bind a transmitter and a receiver)");
        return Err(CommandStatus::ESME_RINVCMDID);
    }
    Ok(system_id)
}

/// The v3.3 rule `request` from `account`'s session of `version` breaks, if any,
/// logged: v3.3 has no data_sm, and its submits carry no TLV.
pub(crate) fn v33_violation(version: InterfaceVersion, account: &str, request: &Request) -> Option<CommandStatus> {
    if version >= InterfaceVersion::V34 {
        return None;
    }
    let (status, why) = match request {
        Request::DataSm(_) => (CommandStatus::ESME_RINVCMDID, "v3.3 has no data_sm"),
        Request::SubmitSm(s) if !s.tlvs.is_empty() => {
            (CommandStatus::ESME_ROPTPARNOTALLWD, "a v3.3 submit may carry no TLV (long messages need a UDH)")
        }
        Request::SubmitMulti(s) if !s.tlvs.is_empty() => {
            (CommandStatus::ESME_ROPTPARNOTALLWD, "a v3.3 submit may carry no TLV (long messages need a UDH)")
        }
        _ => return None,
    };
    tracing::info!(%account, command = %request.command_id(), %status, "refused: {why}");
    Some(status)
}

/// Whether registered_delivery asks for any receipt or intermediate notification.
pub(crate) fn receipt_asked(registered_delivery: u8) -> bool {
    registered_delivery & 0x13 != 0
}

/// Polls a future once: its output if it is ready at once (a store in memory), so
/// that a request is answered without a task.
pub(crate) fn now_or_never<F: Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}
