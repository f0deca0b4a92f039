// The QEMU `virt` memory map (hw/arm/virt.c facts, as measured in reference/qemu-virt-gicv3.dts):
// the bare board is exactly this board; the hypervisor's guests see the same devices in their first GiB.

export const VIRT = {
  GICD: 0x0800_0000,
  GICR: 0x080a_0000,
  UART0: 0x0900_0000,
  UART0_SPI: 1,
  RTC: 0x0901_0000,
  VIRTIO_MMIO: 0x0a00_0000,
  RAM_BASE: 0x4000_0000,
  /** Timer PPIs (INTIDs 16+): secure 13, non-secure physical 14, virtual 11, hypervisor 10. */
  PPI_VTIMER: 27,
  PPI_PTIMER: 30,
} as const;
