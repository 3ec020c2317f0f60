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
 * `readLines` decodes whole lines of bytes strictly: bytes that are not UTF-8 are an error naming the line and
 * the byte (unless the caller says the file is Latin-1), so "Müller" and "Möller" in Latin-1 never both become
 * "M\uFFFDller"; a gzip file and CR-only line ends are refused on their first bytes.
 */
import * as fs from "node:fs";
import { DataError } from "./errors";

export interface TextLine {
  /** The line's text without its line ending. */
  text: string;
  /** 1-based line number in the file. */
  line: number;
}

/** How a file's bytes are read as text: UTF-8 (checked: a byte sequence that is not UTF-8 is an error), or Latin-1 (every byte a character). */
export type TextEncoding = "utf8" | "latin1";
/** The encodings `readLines` accepts, as a user names them. */
export const TEXT_ENCODINGS: readonly TextEncoding[] = ["utf8", "latin1"];

export interface ReadLinesOptions {
  /** Bytes read per chunk (default 1 MiB). */
  chunkBytes?: number;
  /**
   * "utf8" (default): bytes that are not UTF-8 raise a DataError naming the file, line and column (the byte's
   * 1-based position in the line), never a silent U+FFFD that would merge distinct values into one.
   * "latin1": every byte is the character of the same code (ISO-8859-1), nothing is refused.
   */
  encoding?: TextEncoding;
}

/**
 * Yields the lines of `file`. An empty file yields nothing (callers decide whether that is an error).
 * A file that cannot be opened or read raises a DataError naming the file; so do bytes that are not UTF-8
 * (unless `encoding` is "latin1"), a gzip-compressed file, and a first line holding a carriage return (a file
 * with CR-only line ends would otherwise be one long line), each with its line and column.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<TextLine> {
  const encoding = options.encoding ?? "utf8";
  const stream = fs.createReadStream(file, { highWaterMark: options.chunkBytes ?? 1 << 20 });
  const decoder = encoding === "utf8" ? new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }) : undefined;
  let carry: Buffer = Buffer.alloc(0);
  let line = 0;
  let first = true;
  /** Decodes whole lines (bytes ending after a "\n", or the file's last bytes): no character is ever cut. */
  const decode = (bytes: Buffer): string => {
    if (!decoder) return bytes.toString("latin1");
    try {
      return decoder.decode(bytes);
    } catch {
      const at = invalidUtf8Offset(bytes);
      let lineStart = 0;
      let lineNo = line + 1;
      for (let i = bytes.indexOf(10); i !== -1 && i < at; i = bytes.indexOf(10, i + 1)) {
        lineNo++;
        lineStart = i + 1;
      }
      const shown = [...bytes.subarray(at, Math.min(at + 4, bytes.length))].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new DataError(
        { file, line: lineNo },
        `byte ${at - lineStart + 1} of the line (0x${shown}) is not UTF-8; if the file is in Latin-1 (ISO-8859-1), say so with --encoding latin1 (read as UTF-8, distinct values would become one)`,
      );
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      if (first && data.length >= 2) {
        first = false;
        if (data[0] === 0x1f && data[1] === 0x8b) throw new DataError({ file }, "is gzip-compressed: decompress it first (gunzip)");
      }
      const last = data.lastIndexOf(10);
      if (last === -1) {
        carry = data;
        continue;
      }
      const text = decode(data.subarray(0, last + 1));
      carry = Buffer.from(data.subarray(last + 1));
      let start = 0;
      let end: number;
      while ((end = text.indexOf("\n", start)) !== -1) {
        line++;
        yield { text: clean(text, start, end, line, file), line };
        start = end + 1;
      }
    }
  } catch (err) {
    if (err instanceof Error && "code" in err) {
      throw new DataError({ file }, `cannot read file (${(err as NodeJS.ErrnoException).code}): ${err.message}`);
    }
    throw err;
  }
  if (carry.length > 0) {
    if (first && carry.length >= 2 && carry[0] === 0x1f && carry[1] === 0x8b) throw new DataError({ file }, "is gzip-compressed: decompress it first (gunzip)");
    const text = decode(carry);
    line++;
    yield { text: clean(text, 0, text.length, line, file), line };
  }
}

/**
 * The offset of the first byte of `bytes` that does not start (or continue) a well-formed UTF-8 sequence
 * (overlong forms, surrogates and code points beyond U+10FFFF included), or `bytes.length` when a sequence
 * is cut off at the end; -1 when every byte is well-formed.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const b = bytes[i + k];
      if (b === undefined) return i;
      if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
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

/**
 * data[start, end) without a trailing "\r", and without a byte-order mark on line 1. With `file` (readLines),
 * a carriage return inside line 1 is a DataError: the file's lines end in CR alone, which would read as one line.
 */
function clean(data: string, start: number, end: number, line: number, file?: string): string {
  if (end > start && data.charCodeAt(end - 1) === 13) end--;
  if (line === 1 && end > start && data.charCodeAt(start) === 0xfeff) start++;
  if (line === 1 && file !== undefined) {
    const cr = data.indexOf("\r", start);
    if (cr !== -1 && cr < end) throw new DataError({ file, line: 1 }, `a carriage return at character ${cr - start + 1}: the file's lines end in CR alone (old Mac line ends); convert them to \\n (e.g. tr '\\r' '\\n')`);
  }
  return data.slice(start, end);
}
