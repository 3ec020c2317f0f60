/**
 * Streaming line reader for big text files (the raw Ali-CCP release is ~40 GB).
 *
 * Reads the file in chunks and yields one line at a time with its 1-based line number, so a file is
 * never held in memory whole. Handles `\n` and `\r\n` endings, a UTF-8 byte-order mark on the first
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

/** data[start, end) without a trailing "\r", and without a byte-order mark on line 1. */
function clean(data: string, start: number, end: number, line: number): string {
  if (end > start && data.charCodeAt(end - 1) === 13) end--;
  if (line === 1 && end > start && data.charCodeAt(start) === 0xfeff) start++;
  return data.slice(start, end);
}
