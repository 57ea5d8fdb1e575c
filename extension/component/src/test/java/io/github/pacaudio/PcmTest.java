package io.github.pacaudio;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.Random;
import org.junit.Test;

public class PcmTest {
  @Test
  public void base64MatchesTheJdk() {
    Random random = new Random(1);
    for (int n = 0; n < 70; n++) {
      byte[] data = new byte[n];
      random.nextBytes(data);
      assertEquals(Base64.getEncoder().encodeToString(data), Base64Codec.encode(data));
    }
  }

  @Test
  public void stereo16BitIsAveragedToMono() {
    ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort((short) 16384).putShort((short) 0);
    b.putShort((short) -32768).putShort((short) -32768);
    b.putShort((short) 100).put((byte) 1);  // a partial frame is ignored
    b.flip();
    Pcm pcm = new Pcm(100);
    pcm.addInterleaved(b, 2, Pcm.ENCODING_PCM_16BIT);
    assertArrayEquals(new float[] {0.25f, -1f}, pcm.toArray(), 1e-6f);
  }

  @Test
  public void otherEncodings() {
    ByteBuffer f = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.5f)
        .putFloat(Float.NaN);
    f.flip();
    Pcm pcm = new Pcm(100);
    pcm.addInterleaved(f, 1, Pcm.ENCODING_PCM_FLOAT);
    ByteBuffer u8 = ByteBuffer.wrap(new byte[] {(byte) 128, (byte) 255, 0});
    pcm.addInterleaved(u8, 1, Pcm.ENCODING_PCM_8BIT);
    ByteBuffer s24 = ByteBuffer.wrap(new byte[] {0, 0, 0x40, 0, 0, (byte) 0x80});
    pcm.addInterleaved(s24, 1, Pcm.ENCODING_PCM_24BIT_PACKED);
    assertArrayEquals(new float[] {0.5f, 0f, 0f, 127 / 128f, -1f, 0.5f, -1f}, pcm.toArray(),
        1e-6f);
  }

  @Test
  public void decodingStopsAtTheLimit() {
    Pcm pcm = new Pcm(3);
    ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
    pcm.addInterleaved(b, 1, Pcm.ENCODING_PCM_16BIT);
    assertEquals(3, pcm.size());
    assertEquals(true, pcm.full());
  }

  @Test
  public void ringKeepsTheMostRecentSamples() {
    Pcm.Ring ring = new Pcm.Ring(4);
    ring.write(new short[] {1, 2, 3}, 3);
    assertArrayEquals(new float[] {1 / 32768f, 2 / 32768f, 3 / 32768f}, ring.toFloats(), 0f);
    ring.write(new short[] {4, 5, 6, 7}, 3);
    assertArrayEquals(new float[] {3 / 32768f, 4 / 32768f, 5 / 32768f, 6 / 32768f},
        ring.toFloats(), 0f);
    assertEquals(6, ring.written());
  }

  @Test
  public void float32LittleEndianBase64() {
    PcmClip clip = new PcmClip(new float[] {1f, -0.5f}, 8000);
    byte[] expected = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f)
        .putFloat(-0.5f).array();
    assertEquals(Base64.getEncoder().encodeToString(expected), clip.toBase64Float32());
  }

  @Test
  public void chunkerCutsTheStreamIntoEqualChunksAcrossReads() {
    Pcm.Chunker chunker = new Pcm.Chunker(3);
    assertEquals(0, chunker.add(new short[] {1, 2}, 2).size());
    java.util.List<float[]> done = chunker.add(new short[] {3, 4, 5, 6, 7, 8, 9, -32768}, 7);
    assertEquals(3, done.size());
    assertArrayEquals(new float[] {1 / 32768f, 2 / 32768f, 3 / 32768f}, done.get(0), 0f);
    assertArrayEquals(new float[] {4 / 32768f, 5 / 32768f, 6 / 32768f}, done.get(1), 0f);
    assertArrayEquals(new float[] {7 / 32768f, 8 / 32768f, 9 / 32768f}, done.get(2), 0f);
    done = chunker.add(new short[] {-32768, 10, 11}, 3);  // nothing of the earlier buffer leaks
    assertEquals(1, done.size());
    assertArrayEquals(new float[] {-1f, 10 / 32768f, 11 / 32768f}, done.get(0), 0f);
  }
}
