// An SMSC built on node-smpp, for the interoperability test of our client.
// Usage: node smsc.js PORT   (0 picks a free port). Prints "LISTENING <port>", then one
// line per event the test checks: BIND, SUBMIT <n>, ENQUIRE_LINK, ENQUIRE_LINK_RESP,
// RECEIPT_ACK <status>, UNBIND.
'use strict';
const smpp = require('smpp');

const port = parseInt(process.argv[2] || '0', 10);
let submits = 0;

const server = smpp.createServer(function (session) {
  session.on('bind_transceiver', function (pdu) {
    if (pdu.system_id !== 'test' || pdu.password !== 'secret') {
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      session.close();
      return;
    }
    session.send(pdu.response({ system_id: 'node-smpp' }));
    console.log('BIND');
    // Probe the client's automatic enquire_link answer.
    session.enquire_link({}, function (resp) {
      console.log('ENQUIRE_LINK_RESP ' + resp.command_status);
    });
  });
  session.on('submit_sm', function (pdu) {
    submits += 1;
    const id = 'node-' + submits;
    session.send(pdu.response({ message_id: id }));
    console.log('SUBMIT ' + submits);
    if (pdu.registered_delivery & 1) {
      const text = 'id:' + id + ' sub:001 dlvrd:001 submit date:2611261200 done date:2611261201 stat:DELIVRD err:000 text:' +
        String(pdu.short_message.message || '').slice(0, 20);
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 4,
        short_message: text,
      }, function (resp) {
        console.log('RECEIPT_ACK ' + resp.command_status);
      });
    }
  });
  session.on('enquire_link', function (pdu) {
    session.send(pdu.response());
    console.log('ENQUIRE_LINK');
  });
  session.on('unbind', function (pdu) {
    session.send(pdu.response());
    console.log('UNBIND');
    session.close();
  });
  session.on('error', function () {});
});

server.listen(port, '127.0.0.1', function () {
  console.log('LISTENING ' + server.address().port);
});
