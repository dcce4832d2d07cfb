package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Copies between channels-first and channels-last memory (the native strided copy transposes in
 * blocks in both directions): every element lands where the index arithmetic says, for sizes that
 * are and are not multiples of the block, and crops whose pixel rows are not contiguous.
 */
class LayoutCopyTest {
    @Test
    void channelsFirstToLastAndBackMovesEveryElement() {
        SplittableRandom r = new SplittableRandom(17);
        for (int trial = 0; trial < 40; trial++) {
            int n = 1 + r.nextInt(3), c = 1 + r.nextInt(40), h = 1 + r.nextInt(20), w = 1 + r.nextInt(37);
            float[] data = ConvCase.data((long) n * c * h * w, trial);
            try (Tensor nchw = Tensor.fromArray(data, Shape.of(n, c, h, w));
                 Tensor nhwc = nchw.permute(0, 2, 3, 1).contiguous(); // first to last
                 Tensor back = nhwc.permute(0, 3, 1, 2).contiguous()) { // last to first
                float[] last = nhwc.toArray(), first = back.toArray();
                for (int b = 0; b < n; b++)
                    for (int ch = 0; ch < c; ch++)
                        for (int y = 0; y < h; y++)
                            for (int x = 0; x < w; x++) {
                                float v = data[((b * c + ch) * h + y) * w + x];
                                assertEquals(v, last[((b * h + y) * w + x) * c + ch], "to channels last, trial " + trial);
                                assertEquals(v, first[((b * c + ch) * h + y) * w + x], "back to channels first, trial " + trial);
                            }
                if (w > 2) { // a crop: pixel rows no longer one run
                    try (Tensor crop = nchw.slice(3, 1, w - 2).permute(0, 2, 3, 1).contiguous()) {
                        float[] got = crop.toArray();
                        for (int b = 0; b < n; b++)
                            for (int y = 0; y < h; y++)
                                for (int x = 1; x < w - 1; x++)
                                    for (int ch = 0; ch < c; ch++)
                                        assertEquals(data[((b * c + ch) * h + y) * w + x],
                                                got[((b * h + y) * (w - 2) + x - 1) * c + ch], "crop, trial " + trial);
                    }
                }
            }
        }
    }
}
