/**
 * What every picture shares: the bundled DejaVu font (containers have no system fonts, and this draws
 * the same glyphs everywhere) and a white background.
 */
import { createRequire } from 'node:module';

import { GlobalFonts } from '@napi-rs/canvas';
import type { SKRSContext2D } from '@napi-rs/canvas';

const FONT_FAMILY = 'MixupDejaVuSans';
const FONT_FAMILY_BOLD = 'MixupDejaVuSansBold';

let fontsReady = false;

/** Registers the bundled DejaVu fonts once per process. */
function ensureFonts(): void {
  if (fontsReady) return;
  const require = createRequire(import.meta.url);
  const regular = GlobalFonts.registerFromPath(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), FONT_FAMILY);
  const bold = GlobalFonts.registerFromPath(
    require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
    FONT_FAMILY_BOLD,
  );
  if (!regular || !bold) throw new Error('could not register the DejaVu fonts from dejavu-fonts-ttf');
  fontsReady = true;
}

/** A CSS font string in the bundled family. */
export function font(sizePx: number, bold = false): string {
  ensureFonts();
  return `${sizePx}px ${bold ? FONT_FAMILY_BOLD : FONT_FAMILY}`;
}

/** White background; PNGs are transparent otherwise and look broken in dark viewers. */
export function fillBackground(ctx: SKRSContext2D, width: number, height: number): void {
  ctx.save();
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.restore();
}

