'use strict';
// Crashes a moment after start, to watch restarts, `restart_time` and `process:exception`:
//   pm2 start examples/crash.js --max-restarts 3   (then `pm2 ls` shows it errored)
const delay = Number(process.env.CRASH_AFTER_MS) || 1000;

console.log(`crash: up (pid ${process.pid}), crashing in ${delay} ms`);
setTimeout(() => {
  const err = new Error('crash.js crashed on purpose');
  err.code = 'E_ON_PURPOSE';
  throw err;
}, delay);
