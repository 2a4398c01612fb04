import { demux, engineAddress, lastLines } from './engine';

describe('engineAddress', () => {
  it('takes the configured host, then DOCKER_HOST, then the default socket', () => {
    expect(engineAddress('unix:///run/x.sock', { DOCKER_HOST: 'tcp://h:1' })).toEqual({ host: 'unix:///run/x.sock', options: { socketPath: '/run/x.sock' } });
    expect(engineAddress(undefined, { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({ host: 'tcp://127.0.0.1:2375', options: { protocol: 'http', host: '127.0.0.1', port: 2375 } });
    expect(engineAddress(undefined, {}).options).toEqual({ socketPath: '/var/run/docker.sock' });
  });

  it('refuses an address it cannot use', () => {
    expect(() => engineAddress('ftp://x', {})).toThrow(expect.objectContaining({ code: 'ENGINE_ADDRESS_INVALID' }));
  });
});

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
