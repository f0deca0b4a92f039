// Arm PrimeCell UART (PL011), the subset guests and Linux's amba-pl011 driver use: data register,
// flags, interrupt mask/status/clear, control registers kept as written, and the PrimeCell ID
// registers. Transmission is instantaneous (TX FIFO always empty); received bytes wait in a FIFO.
// Register offsets and bits: Arm PL011 TRM (DDI 0183).

import type { MmioDevice } from './bus.js';

const UARTDR = 0x000;
const UARTRSR = 0x004;
const UARTFR = 0x018;
const UARTILPR = 0x020;
const UARTIBRD = 0x024;
const UARTFBRD = 0x028;
const UARTLCR_H = 0x02c;
const UARTCR = 0x030;
const UARTIFLS = 0x034;
const UARTIMSC = 0x038;
const UARTRIS = 0x03c;
const UARTMIS = 0x040;
const UARTICR = 0x044;
const UARTDMACR = 0x048;

const FR_RXFE = 1 << 4;
const FR_TXFE = 1 << 7;
const INT_RX = 1 << 4;
const INT_TX = 1 << 5;
const INT_RT = 1 << 6;

/** PrimeCell peripheral and cell IDs at 0xFE0..0xFFC (PL011 r1p5). */
const IDS = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export interface Pl011State {
  regs: Record<string, number>;
  rx: number[];
}

export class Pl011 implements MmioDevice {
  readonly name = 'pl011';
  private rx: number[] = [];
  private cr = 0x300;
  private lcrh = 0;
  private ibrd = 0;
  private fbrd = 0;
  private ifls = 0x12;
  private imsc = 0;
  private ris = INT_TX;
  private dmacr = 0;
  private ilpr = 0;

  /** Receives every transmitted byte. */
  constructor(
    private readonly onTx: (byte: number) => void,
    private readonly onIrq: (level: boolean) => void = () => undefined,
  ) {}

  /** Queue bytes as if they arrived on the line. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) this.rx.push(b);
    if (this.rx.length > 0) this.ris |= INT_RX | INT_RT;
    this.updateIrq();
  }

  private updateIrq(): void {
    this.onIrq((this.ris & this.imsc) !== 0);
  }

  read(off: number): bigint {
    switch (off) {
      case UARTDR: {
        const b = this.rx.shift() ?? 0;
        if (this.rx.length === 0) this.ris &= ~(INT_RX | INT_RT);
        this.updateIrq();
        return BigInt(b);
      }
      case UARTRSR:
        return 0n;
      case UARTFR:
        return BigInt(FR_TXFE | (this.rx.length === 0 ? FR_RXFE : 0));
      case UARTILPR:
        return BigInt(this.ilpr);
      case UARTIBRD:
        return BigInt(this.ibrd);
      case UARTFBRD:
        return BigInt(this.fbrd);
      case UARTLCR_H:
        return BigInt(this.lcrh);
      case UARTCR:
        return BigInt(this.cr);
      case UARTIFLS:
        return BigInt(this.ifls);
      case UARTIMSC:
        return BigInt(this.imsc);
      case UARTRIS:
        return BigInt(this.ris);
      case UARTMIS:
        return BigInt(this.ris & this.imsc);
      case UARTDMACR:
        return BigInt(this.dmacr);
    }
    if (off >= 0xfe0 && off < 0x1000) return BigInt(IDS[(off - 0xfe0) >> 2]!);
    return 0n;
  }

  write(off: number, _size: number, value: bigint): void {
    const v = Number(value & 0xffffffffn);
    switch (off) {
      case UARTDR:
        this.onTx(v & 0xff);
        this.ris |= INT_TX;
        this.updateIrq();
        return;
      case UARTRSR:
        return;
      case UARTILPR:
        this.ilpr = v & 0xff;
        return;
      case UARTIBRD:
        this.ibrd = v & 0xffff;
        return;
      case UARTFBRD:
        this.fbrd = v & 0x3f;
        return;
      case UARTLCR_H:
        this.lcrh = v & 0xff;
        return;
      case UARTCR:
        this.cr = v & 0xffff;
        return;
      case UARTIFLS:
        this.ifls = v & 0x3f;
        return;
      case UARTIMSC:
        this.imsc = v & 0x7ff;
        this.updateIrq();
        return;
      case UARTICR:
        this.ris &= ~v | INT_TX; // the TX interrupt re-asserts at once: the FIFO is always empty
        if (this.rx.length > 0) this.ris |= INT_RX;
        this.updateIrq();
        return;
      case UARTDMACR:
        this.dmacr = v & 7;
        return;
    }
  }

  save(): Pl011State {
    return {
      regs: {
        cr: this.cr,
        lcrh: this.lcrh,
        ibrd: this.ibrd,
        fbrd: this.fbrd,
        ifls: this.ifls,
        imsc: this.imsc,
        ris: this.ris,
        dmacr: this.dmacr,
        ilpr: this.ilpr,
      },
      rx: [...this.rx],
    };
  }

  restore(s: Pl011State): void {
    const r = s.regs;
    this.cr = r['cr'] ?? 0x300;
    this.lcrh = r['lcrh'] ?? 0;
    this.ibrd = r['ibrd'] ?? 0;
    this.fbrd = r['fbrd'] ?? 0;
    this.ifls = r['ifls'] ?? 0x12;
    this.imsc = r['imsc'] ?? 0;
    this.ris = r['ris'] ?? INT_TX;
    this.dmacr = r['dmacr'] ?? 0;
    this.ilpr = r['ilpr'] ?? 0;
    this.rx = [...s.rx];
    this.updateIrq();
  }
}
