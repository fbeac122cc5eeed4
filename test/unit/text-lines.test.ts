import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textLines } from '../../src/record/text-lines.js';

async function linesOf(chunks: (Buffer | string)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const line of textLines(chunks)) out.push(line);
  return out;
}

test('text lines: \\n and \\r\\n ends, lines across chunks, a character split between chunks, a last line without its newline', async () => {
  assert.deepEqual(await linesOf(['a\nb\r\n', '\n', 'c']), ['a', 'b', '', 'c']);
  const text = Buffer.from('{"x":"grüße"}\r\n{"y":1}\n');
  // Every split point, the ü and ß (two bytes each) among them.
  for (let i = 0; i <= text.length; i++) {
    assert.deepEqual(await linesOf([text.subarray(0, i), text.subarray(i)]), ['{"x":"grüße"}', '{"y":1}'], `split at ${i}`);
  }
  const oneByteAtATime = [...text].map((b) => Buffer.from([b]));
  assert.deepEqual(await linesOf(oneByteAtATime), ['{"x":"grüße"}', '{"y":1}']);
  assert.deepEqual(await linesOf([]), []);
  assert.deepEqual(await linesOf(['\n']), ['']);
  assert.deepEqual(await linesOf(['a\r']), ['a'], 'a \\r before the end of the input is a line end too');
});
