/**
 * A real PCM WAV file for the audio tests: 16-bit mono samples of a sine wave (one period computed, then
 * repeated, so that large files are quick to make).
 */
export function makeWav(seconds: number, sampleRate = 16_000, frequency = 400): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const period = Math.round(sampleRate / frequency);
  const cycle = Buffer.alloc(period * 2);
  for (let i = 0; i < period; i++) cycle.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * i) / period)), i * 2);
  const data = Buffer.alloc(samples * 2);
  if (data.length > 0) data.fill(cycle);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // channels
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
