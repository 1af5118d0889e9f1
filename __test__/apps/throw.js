// Throws an uncaught error once it has started.
setTimeout(() => { const e = new Error('boom from app'); e.code = 'E_BOOM'; throw e; }, 50);
