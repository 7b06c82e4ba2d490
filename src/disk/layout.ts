import { IgluError } from '../errors.js';

/** Bytes per sector of the disk image (sfdisk's unit). */
export const SECTOR = 512;
const MiB = 1024 * 1024;
const SECTORS_PER_MiB = MiB / SECTOR;

/**
 * Fixed identifiers, so that two builds of the same packages give the same image: the
 * GPT disk GUID and partition GUIDs, the ext4 UUID and directory hash seed, and the FAT
 * volume ID (mkfs.fat -i).
 */
export const DISK_IDS = {
  labelId: '1C0D7E4A-5B29-4F1E-9A3D-1A6C0E2B7F10',
  espPartUuid: '1C0D7E4A-5B29-4F1E-9A3D-1A6C0E2B7F11',
  rootPartUuid: '1C0D7E4A-5B29-4F1E-9A3D-1A6C0E2B7F12',
  rootFsUuid: '8d1c6f2e-3b4a-4c5d-9e6f-7a8b9c0d1e2f',
  rootHashSeed: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  espVolumeId: '1A6C0E2B',
} as const;

/** GPT partition type GUIDs (UEFI spec; Discoverable Partitions Specification for x86-64 root). */
export const PART_TYPES = { esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', rootX86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' } as const;

/** Where the partitions are, in sectors of 512 bytes. */
export interface DiskLayout {
  totalSectors: number;
  esp: { start: number; sectors: number };
  root: { start: number; sectors: number };
}

/**
 * The image's layout: 1 MiB for the protective MBR and primary GPT, an ESP of `espMiB`,
 * the root partition up to 1 MiB before the end (the backup GPT needs 33 sectors). Pure.
 * @param sizeMiB whole image, MiB
 * @throws IgluError when the root partition would be smaller than 8 MiB
 */
export function diskLayout(sizeMiB: number, espMiB = 32): DiskLayout {
  const rootMiB = sizeMiB - 1 - espMiB - 1;
  if (!Number.isInteger(sizeMiB) || rootMiB < 8)
    throw new IgluError(`an image of ${sizeMiB} MiB is too small: the ESP takes ${espMiB} MiB and the root needs at least 8`, {
      hint: `pass --size ${espMiB + 10} or more`,
    });
  return {
    totalSectors: sizeMiB * SECTORS_PER_MiB,
    esp: { start: SECTORS_PER_MiB, sectors: espMiB * SECTORS_PER_MiB },
    root: { start: (1 + espMiB) * SECTORS_PER_MiB, sectors: rootMiB * SECTORS_PER_MiB },
  };
}

/** sfdisk(8)'s input for the layout: GPT, fixed disk and partition GUIDs, named partitions. Pure. */
export function sfdiskScript(l: DiskLayout): string {
  return [
    'label: gpt',
    `label-id: ${DISK_IDS.labelId}`,
    'unit: sectors',
    'first-lba: 2048',
    '',
    `start=${l.esp.start}, size=${l.esp.sectors}, type=${PART_TYPES.esp}, uuid=${DISK_IDS.espPartUuid}, name="ESP"`,
    `start=${l.root.start}, size=${l.root.sectors}, type=${PART_TYPES.rootX86_64}, uuid=${DISK_IDS.rootPartUuid}, name="iglunix-root"`,
    '',
  ].join('\n');
}
