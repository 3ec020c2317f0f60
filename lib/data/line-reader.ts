/**
 * Line reading for every text file the workspace reads: `readLines`, a streaming reader for big files (the
 * raw Ali-CCP release is ~40 GB), `countLines`, the number of lines `readLines` will yield (a first pass that
 * lets a loader allocate its columns once, at their final size), and `splitLines`, the same rules for a text
 * already in memory (a simulated day file, a results file).
 *
 * `readLines` reads the file in chunks and yields one line at a time with its 1-based line number, so a file
 * is never held in memory whole. Both handle `\n` and `\r\n` endings, a UTF-8 byte-order mark on the first
 * line, and a last line without a trailing newline (the Ali-CCP sample files end that way). A final
 * `\n` does not produce an extra empty line; an empty line in the middle of the file is yielded as "".
 */
import * as fs from "node:fs";
import { DataError } from "./errors";

export interface TextLine {
  /** The line's text without its line ending. */
  text: string;
  /** 1-based line number in the file. */
  line: number;
}

export interface ReadLinesOptions {
  /** Bytes read per chunk (default 1 MiB). */
  chunkBytes?: number;
}

/**
 * Yields the lines of `file`. An empty file yields nothing (callers decide whether that is an error).
 * A file that cannot be opened or read raises a DataError naming the file.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<TextLine> {
  const stream = fs.createReadStream(file, { encoding: "utf8", highWaterMark: options.chunkBytes ?? 1 << 20 });
  let carry = "";
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const data = carry + chunk;
      let start = 0;
      let end: number;
      while ((end = data.indexOf("\n", start)) !== -1) {
        line++;
        yield { text: clean(data, start, end, line), line };
        start = end + 1;
      }
      carry = data.slice(start);
    }
  } catch (err) {
    if (err instanceof Error && "code" in err) {
      throw new DataError({ file }, `cannot read file (${(err as NodeJS.ErrnoException).code}): ${err.message}`);
    }
    throw err;
  }
  if (carry.length > 0) {
    line++;
    yield { text: clean(carry, 0, carry.length, line), line };
  }
}

/**
 * The number of lines `readLines(file)` yields: the "\n" bytes, plus one for a last line without a trailing
 * newline; 0 for an empty file. Reads the file once in `chunkBytes` chunks (default 4 MiB) of raw bytes (no
 * text decoding): about 1 s per GB from the page cache. A file that cannot be opened or read raises a
 * DataError naming the file, as `readLines` does.
 */
export function countLines(file: string, options: ReadLinesOptions = {}): number {
  const buffer = Buffer.allocUnsafe(options.chunkBytes ?? 1 << 22);
  let lines = 0;
  let last = -1;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    let read: number;
    while ((read = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) {
      const bytes = buffer.subarray(0, read);
      for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++;
      last = bytes[read - 1];
    }
  } catch (err) {
    if (err instanceof Error && "code" in err) {
      throw new DataError({ file }, `cannot read file (${(err as NodeJS.ErrnoException).code}): ${err.message}`);
    }
    throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return last !== -1 && last !== 10 ? lines + 1 : lines;
}

/**
 * The lines of `text` by the same rules as `readLines`: without their `\n` or `\r\n` ending, without a
 * UTF-8 byte-order mark on the first line; a final line ending adds no empty line; "" gives no lines.
 * Line i (1-based) is element i - 1.
 */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let end: number;
  while ((end = text.indexOf("\n", start)) !== -1) {
    lines.push(clean(text, start, end, lines.length + 1));
    start = end + 1;
  }
  if (start < text.length) lines.push(clean(text, start, text.length, lines.length + 1));
  return lines;
}

/** data[start, end) without a trailing "\r", and without a byte-order mark on line 1. */
function clean(data: string, start: number, end: number, line: number): string {
  if (end > start && data.charCodeAt(end - 1) === 13) end--;
  if (line === 1 && end > start && data.charCodeAt(start) === 0xfeff) start++;
  return data.slice(start, end);
}
