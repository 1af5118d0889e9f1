'use strict';
// Writes SEQ_LINES numbered lines to stdout as fast as the pipe takes them,
// then `DONE <n>`, and stays up; with SEQ_EVERY_MS, one line per period instead
// (forever, or SEQ_LINES lines then `DONE <n>` when SEQ_LINES is set).
// With SEQ_BY_INSTANCE, each line starts with `i<NODE_APP_INSTANCE> `.
const total = Number(process.env.SEQ_LINES || 1000);
const every = Number(process.env.SEQ_EVERY_MS || 0);
const pad = 'x'.repeat(Number(process.env.SEQ_PAD || 20));
const tag = process.env.SEQ_BY_INSTANCE ? `i${process.env.NODE_APP_INSTANCE} ` : '';
let i = 0;
if (every > 0) {
  const limited = process.env.SEQ_LINES !== undefined;
  const timer = setInterval(() => {
    process.stdout.write(`${tag}seq ${i++} ${pad}\n`);
    if (limited && i === total) {
      process.stdout.write(`${tag}DONE ${total}\n`);
      clearInterval(timer);
      setInterval(() => {}, 1 << 30);
    }
  }, every);
} else {
  const batch = () => {
    let ok = true;
    while (ok && i < total) {
      let chunk = '';
      for (let k = 0; k < 100 && i < total; k++) chunk += `${tag}seq ${i++} ${pad}\n`;
      ok = process.stdout.write(chunk);
    }
    if (i < total) process.stdout.once('drain', batch);
    else process.stdout.write(`${tag}DONE ${total}\n`);
  };
  batch();
  setInterval(() => {}, 1 << 30);
}
