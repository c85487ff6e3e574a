import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import t from 'tap';
import { IdleSweeper } from '../../src/http1/idle-sweeper.js';
import { FakeClock } from '../helpers/fakes.js';

class FakeSocket extends EventEmitter {
  bytesRead = 0;
  bytesWritten = 0;
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function setup(idleMs = 1000) {
  const clock = new FakeClock();
  // A long interval: the test sweeps by hand.
  const sweeper = new IdleSweeper(idleMs, clock, 3_600_000);
  t.teardown(() => sweeper.stop());
  const socket = new FakeSocket();
  sweeper.track(socket as unknown as Socket);
  return { clock, sweeper, socket };
}

t.test('a connection that moves no byte for the idle time is closed, and forgotten', async (t) => {
  const { clock, sweeper, socket } = setup();
  clock.advance(999);
  sweeper.sweep();
  t.equal(socket.destroyed, false, 'not before the idle time');
  clock.advance(1);
  sweeper.sweep();
  t.equal(socket.destroyed, true, 'closed at the idle time');
  t.equal(sweeper.size, 0, 'no longer watched once closed');
});

t.test('bytes in either direction keep a connection open; the idle time counts from the last', async (t) => {
  const { clock, sweeper, socket } = setup();
  for (let i = 0; i < 10; i++) {
    clock.advance(600);
    if (i % 2 === 0) socket.bytesRead += 10;
    else socket.bytesWritten += 65536;
    sweeper.sweep();
  }
  t.equal(socket.destroyed, false, 'six seconds of traffic, never idle for a whole second');
  clock.advance(999);
  sweeper.sweep();
  t.equal(socket.destroyed, false);
  clock.advance(1);
  sweeper.sweep();
  t.equal(socket.destroyed, true);
});

t.test('a connection closed by its peer is forgotten without being touched', async (t) => {
  const { sweeper, socket } = setup();
  socket.emit('close');
  t.equal(sweeper.size, 0);
  t.equal(socket.destroyed, false);
});
