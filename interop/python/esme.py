"""An ESME built on python smpplib, for the interoperability test of our server.

Usage: python3 esme.py PORT SYSTEM_ID PASSWORD COUNT

Binds as transceiver, submits COUNT messages (window 10) asking for receipts, then one
long UCS-2 message split into parts with a UDH concatenation header, waits for every
receipt (smpplib acknowledges them), unbinds, and prints: BOUND, SUBMIT_OK <n>,
LONG_PARTS <n>, RECEIPTS <n>, UNBOUND.
"""
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.gsm

port, system_id, password, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
state = {"resp_ok": 0, "resp_err": 0, "receipts": 0}


def sent(pdu):
    if pdu.status == 0:
        state["resp_ok"] += 1
    else:
        state["resp_err"] += 1


def received(pdu):
    if pdu.esm_class & 0x04:  # MC delivery receipt
        state["receipts"] += 1


client = smpplib.client.Client("127.0.0.1", int(port), timeout=10, allow_unknown_opt_params=True)
client.set_message_sent_handler(sent)
client.set_message_received_handler(received)
client.connect()
client.bind_transceiver(system_id=system_id, password=password, system_type="smpp")
print("BOUND", flush=True)

deadline = time.time() + 60


def wait_until(cond):
    while not cond():
        if time.time() > deadline:
            print("TIMEOUT", state, flush=True)
            sys.exit(1)
        client.read_once()


sent_count = 0
for i in range(count):
    client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_INTL,
        source_addr="12345",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr="447700900123",
        short_message=("python message %d" % i).encode(),
        registered_delivery=True,
    )
    sent_count += 1
    # A window of 10 requests in flight.
    wait_until(lambda: sent_count - (state["resp_ok"] + state["resp_err"]) < 10)
wait_until(lambda: state["resp_ok"] + state["resp_err"] >= count)
print("SUBMIT_OK", state["resp_ok"], flush=True)

text = "Привет, мир! Это длинное сообщение в UCS-2, разбитое на части. " * 3
parts, encoding_flag, msg_type_flag = smpplib.gsm.make_parts(text)
for part in parts:
    client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_INTL,
        source_addr="12345",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr="447700900123",
        short_message=part,
        data_coding=encoding_flag,
        esm_class=msg_type_flag,
        registered_delivery=True,
    )
wait_until(lambda: state["resp_ok"] + state["resp_err"] >= count + len(parts))
print("LONG_PARTS", len(parts), "ENCODING", encoding_flag, "ESM_CLASS", msg_type_flag, flush=True)

wait_until(lambda: state["receipts"] >= state["resp_ok"])
print("RECEIPTS", state["receipts"], flush=True)
client.unbind()
print("UNBOUND", flush=True)
client.disconnect()
