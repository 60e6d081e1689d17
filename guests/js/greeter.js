// A wippy function in JavaScript (world `wippy:runtime/function`): `call` gets the call's
// arguments as a JSON array and returns JSON; a thrown string is the call's error.
export const entry = {
  call(args) {
    const [name] = JSON.parse(args);
    if (typeof name !== 'string' || name === '') throw 'a name is needed';
    return JSON.stringify(`Hello, ${name}!`);
  },
};
