'use strict';
// A stand-in for @azure/functions (v4 programming model) for evcli's tests:
// it records what is registered, as the real app object's registration
// calls are spelled, so a test can call the registered handlers.
const registered = {};
function register(type) {
  return (name, options) => {
    if (registered[name]) throw new Error(`a function named ${name} is already registered`);
    registered[name] = { type, ...(typeof options === 'function' ? { handler: options } : options) };
  };
}
exports.app = { eventGrid: register('eventGrid'), http: register('http'), generic: register('generic') };
exports.registered = registered;
