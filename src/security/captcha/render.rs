//! Drawing an answer: each glyph scaled, sheared and placed with its own jitter and colour,
//! the whole line bent by a wave, crossed by lines in the glyphs' colours and sprinkled with
//! dots, then encoded as an 8-bit RGB PNG.

use rand::Rng;

use super::glyphs::{self, COLS, ROWS};

pub const WIDTH: u32 = 180;
pub const HEIGHT: u32 = 64;

/// Font cell size in pixels before each glyph's own scale.
const CELL_W: f32 = 5.0;
const CELL_H: f32 = 6.0;
/// Horizontal pitch of the glyphs and the left margin.
const PITCH: f32 = 31.0;
const MARGIN: f32 = 14.0;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the character {0:?} has no glyph")]
    NoGlyph(char),
    #[error("encoding the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// An RGB canvas.
struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(rng: &mut impl Rng) -> Self {
        let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
        let tint: [u8; 3] = [
            rng.random_range(228..=246),
            rng.random_range(228..=246),
            rng.random_range(228..=246),
        ];
        for _ in 0..WIDTH * HEIGHT {
            for base in tint {
                pixels.push(base.saturating_add(rng.random_range(0..=9)));
            }
        }
        Canvas { pixels }
    }

    fn paint(&mut self, x: i32, y: i32, rgb: [u8; 3]) {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
            return;
        };
        if x >= WIDTH || y >= HEIGHT {
            return;
        }
        let at = ((y * WIDTH + x) * 3) as usize;
        self.pixels[at..at + 3].copy_from_slice(&rgb);
    }

    fn encode(&self) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::with_capacity(8 * 1024);
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()?;
        Ok(out)
    }
}

fn ink(rng: &mut impl Rng) -> [u8; 3] {
    [
        rng.random_range(15..=120),
        rng.random_range(15..=120),
        rng.random_range(15..=120),
    ]
}

/// Draws `answer` (characters of the captcha alphabet) as a PNG.
pub fn render_png(answer: &str) -> Result<Vec<u8>, RenderError> {
    let mut rng = rand::rng();
    let mut canvas = Canvas::new(&mut rng);

    // One wave bends the whole line, so glyphs cannot be cut apart on a straight baseline.
    let amplitude: f32 = rng.random_range(1.5..3.5);
    let period: f32 = rng.random_range(40.0..80.0);
    let phase: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    let wave = |x: f32| amplitude * (x * std::f32::consts::TAU / period + phase).sin();

    for (i, c) in answer.bytes().enumerate() {
        let glyph = glyphs::glyph(c).ok_or(RenderError::NoGlyph(char::from(c)))?;
        let scale: f32 = rng.random_range(0.85..1.15);
        let (cell_w, cell_h) = (CELL_W * scale, CELL_H * scale);
        let (glyph_w, glyph_h) = (cell_w * COLS as f32, cell_h * ROWS as f32);
        let x0 = MARGIN + PITCH * i as f32 + rng.random_range(-3.0..3.0);
        let y0 = (HEIGHT as f32 - glyph_h) / 2.0 + rng.random_range(-6.0..6.0);
        let shear: f32 = rng.random_range(-0.3..0.3);
        let colour = ink(&mut rng);

        // Walk the glyph's box (widened by the shear and the wave) and map each pixel back
        // into font cells.
        let slack = (glyph_h * shear.abs()).ceil() + 4.0;
        for y in (y0 - 4.0) as i32..=(y0 + glyph_h + 4.0) as i32 {
            for x in (x0 - slack) as i32..=(x0 + glyph_w + slack) as i32 {
                let local_y = y as f32 - wave(x as f32) - y0;
                let local_x = x as f32 - x0 - shear * (local_y - glyph_h / 2.0);
                if local_x < 0.0 || local_y < 0.0 {
                    continue;
                }
                let (col, row) = ((local_x / cell_w) as usize, (local_y / cell_h) as usize);
                if glyphs::inked(glyph, col, row) {
                    canvas.paint(x, y, colour);
                }
            }
        }
    }

    // Lines in ink colours across the text, two pixels thick.
    for _ in 0..4 {
        let colour = ink(&mut rng);
        let (x1, y1) = (
            rng.random_range(0.0..40.0),
            rng.random_range(0.0..HEIGHT as f32),
        );
        let (x2, y2) = (
            rng.random_range(WIDTH as f32 - 40.0..WIDTH as f32),
            rng.random_range(0.0..HEIGHT as f32),
        );
        let steps = ((x2 - x1).abs().max((y2 - y1).abs()) * 2.0) as i32;
        for s in 0..=steps {
            let t = s as f32 / steps.max(1) as f32;
            let (x, y) = (
                x1 + (x2 - x1) * t,
                y1 + (y2 - y1) * t + wave(x1 + (x2 - x1) * t),
            );
            canvas.paint(x as i32, y as i32, colour);
            canvas.paint(x as i32, y as i32 + 1, colour);
        }
    }
    // Speckle.
    for _ in 0..300 {
        let (x, y) = (
            rng.random_range(0..WIDTH as i32),
            rng.random_range(0..HEIGHT as i32),
        );
        let colour = [rng.random(), rng.random(), rng.random()];
        canvas.paint(x, y, colour);
    }

    canvas.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn renders_a_png_of_the_stated_size() {
        let png_bytes = render_png("AC347").expect("renders");
        assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let (info, pixels) = decode(&png_bytes);
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        // Ink was laid down: a good share of pixels are dark.
        let dark = pixels
            .chunks(3)
            .filter(|p| p.iter().all(|&v| v <= 120))
            .count();
        assert!(dark > 800, "only {dark} dark pixels");
        assert!(png_bytes.len() < 32 * 1024, "{} bytes", png_bytes.len());
    }

    #[test]
    fn the_same_answer_is_never_drawn_the_same_way_twice() {
        assert_ne!(
            render_png("KM9XY").expect("renders"),
            render_png("KM9XY").expect("renders")
        );
    }

    #[test]
    fn characters_outside_the_font_are_refused() {
        assert!(matches!(render_png("AB"), Err(RenderError::NoGlyph('B'))));
    }
}
