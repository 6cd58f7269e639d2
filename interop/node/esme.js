// An ESME built on node-smpp, for the interoperability test of our server.
// Usage: node esme.js PORT SYSTEM_ID PASSWORD COUNT
// Binds as transceiver, submits COUNT messages asking for receipts, acknowledges the
// receipts, unbinds, and prints: BOUND, SUBMIT_OK <n>, RECEIPTS <n>, UNBOUND; and
// UNMATCHED_RECEIPT <id> for a receipt whose id is none of the submits' message_ids.
'use strict';
const smpp = require('smpp');

const [port, systemId, password, countArg] = process.argv.slice(2);
const count = parseInt(countArg || '1000', 10);
let ok = 0;
let receipts = 0;
let failed = 0;
const ids = new Set();

const session = smpp.connect({ url: 'smpp://127.0.0.1:' + port }, function () {
  session.bind_transceiver({ system_id: systemId, password: password, system_type: 'smpp' }, function (pdu) {
    if (pdu.command_status !== 0) {
      console.log('BIND_FAILED ' + pdu.command_status);
      process.exit(1);
    }
    console.log('BOUND');
    for (let i = 0; i < count; i++) {
      session.submit_sm({
        source_addr: '12345',
        destination_addr: '447700900123',
        registered_delivery: 1,
        short_message: 'node message ' + i,
      }, function (resp) {
        if (resp.command_status === 0 && resp.message_id) { ok++; ids.add(resp.message_id); } else { failed++; }
        if (ok + failed === count) { console.log('SUBMIT_OK ' + ok); maybeDone(); }
      });
    }
  });
});

session.on('deliver_sm', function (pdu) {
  session.send(pdu.response());
  if (pdu.esm_class & 0x04) {
    receipts++;
    const text = String((pdu.short_message && pdu.short_message.message) || '');
    const id = (text.match(/id:(\S+)/) || [])[1];
    if (!ids.has(id)) { console.log('UNMATCHED_RECEIPT ' + id); }
  }
  maybeDone();
});
session.on('enquire_link', function (pdu) { session.send(pdu.response()); });
session.on('error', function (e) { console.log('ERROR ' + e.message); process.exit(1); });

let done = false;
function maybeDone() {
  if (done || ok + failed < count || receipts < ok) { return; }
  done = true;
  console.log('RECEIPTS ' + receipts);
  session.unbind({}, function (resp) {
    console.log(resp.command_status === 0 ? 'UNBOUND' : 'UNBIND_FAILED');
    session.close();
  });
}

setTimeout(function () { console.log('TIMEOUT ok=' + ok + ' receipts=' + receipts); process.exit(1); }, 60000).unref();
