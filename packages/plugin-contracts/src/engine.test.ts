import { demux, lastLines } from './engine';

describe('demux', () => {
  it('joins the frames of a multiplexed stream, stdout and stderr in order', () => {
    const frame = (stream: number, s: string) => {
      const h = Buffer.alloc(8);
      h[0] = stream;
      h.writeUInt32BE(Buffer.byteLength(s), 4);
      return Buffer.concat([h, Buffer.from(s)]);
    };
    const text = demux(Buffer.concat([frame(1, 'out one\n'), frame(2, 'err two\n'), frame(1, 'out three\n')]));
    expect(text).toBe('out one\nerr two\nout three\n');
    expect(lastLines(text, 2)).toEqual(['err two', 'out three']);
  });

  it('passes raw text through', () => {
    expect(demux(Buffer.from('plain\n'))).toBe('plain\n');
  });
});
