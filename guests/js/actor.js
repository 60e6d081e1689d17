// A wippy process in JavaScript (world `wippy:process/process`): `run` gets the spawn
// arguments as a JSON array. It greets whoever sends "greet" (the payload is the name, as
// JSON) until "stop", then ends with the number of greetings as its value.
import { receive, send, selfPid } from 'wippy:process/host@0.1.0';

export const entry = {
  run(args) {
    const [greeting = 'Hello'] = JSON.parse(args);
    if (typeof greeting !== 'string') throw `${JSON.stringify(greeting)} is not a greeting`;
    let greeted = 0;
    for (;;) {
      const received = receive(undefined);
      if (received === undefined || received.tag === 'event') {
        // A cancel (or any event): stop, with what was done.
        return JSON.stringify({ greeted, pid: selfPid() });
      }
      const { sender, topic, payload } = received.val;
      if (topic === 'stop') return JSON.stringify({ greeted, pid: selfPid() });
      if (topic === 'greet' && sender !== undefined) {
        send(sender, 'greeting', JSON.stringify(`${greeting}, ${JSON.parse(payload)}!`));
        greeted += 1;
      }
    }
  },
};
