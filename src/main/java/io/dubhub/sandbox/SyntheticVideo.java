package io.dubhub.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * Writes structurally valid MP4 files by hand, so tests and the sandbox can have "videos" of any
 * duration, size and resolution without ffmpeg. The file is ftyp + moov (one h264 track, one AAC
 * track) + mdat; the mdat payload is zeros, so nothing will play, but every box, table and offset
 * is consistent and probes report exactly what was asked for.
 *
 * <p>Big files cost nothing: the headers are written, then the file is extended with
 * {@link RandomAccessFile#setLength} (sparse on Linux filesystems), so a 10 GiB "video" takes
 * milliseconds and no memory.
 */
public final class SyntheticVideo {

    /** Every timescale is milliseconds: exact for any {@link Duration} we accept. */
    private static final int TIMESCALE = 1000;
    private static final int AUDIO_SAMPLE_RATE = 48_000;
    /** The audio track's one sample; the video track gets the rest of the mdat payload. */
    private static final int AUDIO_SAMPLE_BYTES = 16;
    private static final long MIN_VIDEO_BYTES = 16;
    /** stsz entries are 32-bit, so a payload above this is split into several video samples. */
    private static final long MAX_SAMPLE_BYTES = 1L << 30;
    private static final long UINT32_MAX = 0xFFFF_FFFFL;
    private static final int TINY_WIDTH = 320;
    private static final int TINY_HEIGHT = 240;
    private static final int TINY_BYTES = 4096;

    private SyntheticVideo() {
    }

    /**
     * Writes an MP4 of exactly {@code totalBytes} (or the smallest valid file, if that is more).
     *
     * @param duration 0 to 2^32-1 ms, truncated to the millisecond (every timescale is 1000; mvhd,
     *                 tkhd and mdhd are version 0, stts deltas 32-bit)
     */
    public static void writeMp4(Path target, Duration duration, int width, int height, long totalBytes) {
        Layout layout = Layout.of(duration, width, height, totalBytes);
        try (RandomAccessFile file = new RandomAccessFile(target.toFile(), "rw")) {
            file.setLength(0);
            file.write(layout.headers);
            // Zero-filled (and sparse where the filesystem allows): constant memory for any size.
            file.setLength(layout.totalBytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write synthetic MP4 " + target, e);
        }
    }

    /** A few-KB 320x240 h264/aac MP4 of the given duration, for upload and routing tests. */
    public static byte[] tinyMp4(Duration duration) {
        Layout layout = Layout.of(duration, TINY_WIDTH, TINY_HEIGHT, TINY_BYTES);
        return Arrays.copyOf(layout.headers, Math.toIntExact(layout.totalBytes));
    }

    /**
     * Everything before the mdat payload, and the final file size. The moov depends on the payload
     * size (stsz entries, number of video samples) and the payload on the moov size, so the number
     * of samples only ever grows until every sample fits in 32 bits.
     */
    private record Layout(byte[] headers, long totalBytes) {

        static Layout of(Duration duration, int width, int height, long totalBytes) {
            long millis = checkArguments(duration, width, height);
            int videoSamples = 1;
            Sizes sizes = Sizes.of(millis, width, height, totalBytes, videoSamples);
            while (samplesFor(sizes.videoBytes()) > videoSamples) {
                videoSamples = samplesFor(sizes.videoBytes());
                sizes = Sizes.of(millis, width, height, totalBytes, videoSamples);
            }
            byte[] moov = moov(millis, width, height, sizes.payloadOffset(), split(sizes.videoBytes(), videoSamples));
            byte[] mdat = sizes.mdatHeader() == 8
                    ? new Fields().u32(sizes.payload() + 8).fourcc("mdat").bytes()
                    : new Fields().u32(1).fourcc("mdat").u64(sizes.payload() + 16).bytes();
            return new Layout(concat(ftyp(), moov, mdat), sizes.payloadOffset() + sizes.payload());
        }
    }

    private record Sizes(long payloadOffset, int mdatHeader, long payload) {

        static Sizes of(long millis, int width, int height, long totalBytes, int videoSamples) {
            // The moov size depends only on how many samples there are, not on their sizes or offsets.
            long prefix = ftyp().length + (long) moov(millis, width, height, 0, new long[videoSamples]).length;
            long available = Math.max(totalBytes - prefix, 8 + AUDIO_SAMPLE_BYTES + MIN_VIDEO_BYTES * videoSamples);
            // A 32-bit box size counts its own 8-byte header; beyond that, size=1 plus a 64-bit largesize.
            int mdatHeader = available <= UINT32_MAX ? 8 : 16;
            return new Sizes(prefix + mdatHeader, mdatHeader, available - mdatHeader);
        }

        long videoBytes() {
            return payload - AUDIO_SAMPLE_BYTES;
        }
    }

    private static long checkArguments(Duration duration, int width, int height) {
        if (duration == null || duration.isNegative() || duration.toMillis() > UINT32_MAX) {
            throw new IllegalArgumentException("duration must be between 0 and 2^32-1 ms: " + duration);
        }
        if (width <= 0 || height <= 0 || width > 0xFFFF || height > 0xFFFF) {
            throw new IllegalArgumentException("width and height must be 1..65535: " + width + "x" + height);
        }
        return duration.toMillis();
    }

    private static int samplesFor(long videoBytes) {
        return Math.toIntExact(Math.max(1, (videoBytes + MAX_SAMPLE_BYTES - 1) / MAX_SAMPLE_BYTES));
    }

    private static long[] split(long bytes, int parts) {
        long[] sizes = new long[parts];
        Arrays.fill(sizes, bytes / parts);
        sizes[parts - 1] += bytes % parts;
        return sizes;
    }

    // ---------------------------------------------------------------- boxes (ISO/IEC 14496-12)

    private static byte[] ftyp() {
        return box("ftyp", new Fields().fourcc("isom").u32(0x200)
                .fourcc("isom").fourcc("iso2").fourcc("avc1").fourcc("mp41").bytes());
    }

    /**
     * The payload is laid out as [audio sample][video samples...], one chunk per track, so both
     * stco offsets sit right after the moov and always fit in 32 bits.
     */
    private static byte[] moov(long millis, int width, int height, long payloadOffset, long[] videoSamples) {
        byte[] audio = trak(2, millis, 0, 0, "soun", smhd(),
                sampleTable(audioSampleEntry(), millis, new long[] {AUDIO_SAMPLE_BYTES}, payloadOffset));
        byte[] video = trak(1, millis, width, height, "vide", vmhd(),
                sampleTable(avc1(width, height), millis, videoSamples, payloadOffset + AUDIO_SAMPLE_BYTES));
        return box("moov", mvhd(millis), video, audio);
    }

    private static byte[] mvhd(long millis) {
        return fullBox("mvhd", 0, 0, new Fields()
                .u32(0).u32(0) // creation, modification time
                .u32(TIMESCALE).u32(millis)
                .u32(0x0001_0000).u16(0x0100) // rate 1.0, volume 1.0
                .zeros(2 + 8).matrix().zeros(24)
                .u32(3) // next track id
                .bytes());
    }

    private static byte[] trak(int trackId, long millis, int width, int height, String handler,
            byte[] mediaHeader, byte[] stbl) {
        byte[] tkhd = fullBox("tkhd", 0, 0x000003, new Fields() // enabled, in movie
                .u32(0).u32(0).u32(trackId).u32(0).u32(millis)
                .zeros(8).u16(0).u16(0) // reserved, layer, alternate group
                .u16("soun".equals(handler) ? 0x0100 : 0).u16(0)
                .matrix()
                .u32((long) width << 16).u32((long) height << 16) // 16.16 fixed point
                .bytes());
        byte[] mdhd = fullBox("mdhd", 0, 0, new Fields()
                .u32(0).u32(0).u32(TIMESCALE).u32(millis)
                .u16(0x55C4).u16(0) // language "und", packed ISO-639-2/T
                .bytes());
        String name = "vide".equals(handler) ? "VideoHandler" : "SoundHandler";
        byte[] hdlr = fullBox("hdlr", 0, 0, new Fields()
                .u32(0).fourcc(handler).zeros(12).ascii(name).u8(0).bytes());
        byte[] dinf = box("dinf", fullBox("dref", 0, 0, new Fields().u32(1).bytes(),
                fullBox("url ", 0, 0x000001, new byte[0]))); // flag 1: media is in this file
        byte[] minf = box("minf", mediaHeader, dinf, stbl);
        return box("trak", tkhd, box("mdia", mdhd, hdlr, minf));
    }

    private static byte[] vmhd() {
        return fullBox("vmhd", 0, 0x000001, new Fields().u16(0).zeros(6).bytes());
    }

    private static byte[] smhd() {
        return fullBox("smhd", 0, 0, new Fields().u16(0).u16(0).bytes());
    }

    /** One chunk holding all the samples; the last sample absorbs the rounding of the duration. */
    private static byte[] sampleTable(byte[] sampleEntry, long millis, long[] sampleSizes, long chunkOffset) {
        int count = sampleSizes.length;
        long delta = millis / count;
        Fields stts = new Fields();
        if (count == 1) {
            stts.u32(1).u32(1).u32(millis);
        } else {
            stts.u32(2).u32(count - 1).u32(delta).u32(1).u32(millis - delta * (count - 1));
        }
        Fields stsz = new Fields().u32(0).u32(count);
        for (long size : sampleSizes) {
            stsz.u32(size);
        }
        return box("stbl",
                fullBox("stsd", 0, 0, new Fields().u32(1).bytes(), sampleEntry),
                fullBox("stts", 0, 0, stts.bytes()),
                fullBox("stsc", 0, 0, new Fields().u32(1).u32(1).u32(count).u32(1).bytes()),
                fullBox("stsz", 0, 0, stsz.bytes()),
                fullBox("stco", 0, 0, new Fields().u32(1).u32(chunkOffset).bytes()));
    }

    private static byte[] avc1(int width, int height) {
        Fields entry = new Fields()
                .zeros(6).u16(1) // reserved, data reference index
                .u16(0).u16(0).zeros(12)
                .u16(width).u16(height)
                .u32(0x0048_0000).u32(0x0048_0000) // 72 dpi
                .u32(0).u16(1) // reserved, frame count
                .zeros(32) // compressor name (Pascal string)
                .u16(0x0018).u16(0xFFFF); // depth, pre_defined -1
        return box("avc1", entry.bytes(), avcC(width, height));
    }

    /** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3) with a real baseline SPS and PPS. */
    private static byte[] avcC(int width, int height) {
        byte[] sps = H264.sps(width, height);
        byte[] pps = H264.pps();
        return box("avcC", new Fields()
                .u8(1).u8(sps[1]).u8(sps[2]).u8(sps[3]) // version, profile, compatibility, level
                .u8(0xFF) // 6 reserved bits + lengthSizeMinusOne = 3
                .u8(0xE1).u16(sps.length).raw(sps) // 3 reserved bits + 1 SPS
                .u8(1).u16(pps.length).raw(pps)
                .bytes());
    }

    private static byte[] audioSampleEntry() {
        Fields entry = new Fields()
                .zeros(6).u16(1)
                .zeros(8) // version 0 sound description
                .u16(2).u16(16) // channels, sample size
                .u16(0).u16(0)
                .u32((long) AUDIO_SAMPLE_RATE << 16); // 16.16
        return box("mp4a", entry.bytes(), esds());
    }

    /** ES_Descriptor (ISO/IEC 14496-1 7.2.6.5) for AAC-LC, 48 kHz, stereo; one-byte descriptor sizes. */
    private static byte[] esds() {
        byte[] audioSpecificConfig = {0x11, (byte) 0x90}; // object type 2 (LC), freq index 3, 2 channels
        byte[] decoderSpecificInfo = descriptor(0x05, audioSpecificConfig);
        byte[] decoderConfig = descriptor(0x04, new Fields()
                .u8(0x40) // objectTypeIndication: MPEG-4 audio
                .u8(0x15) // streamType 5 (audio) << 2 | reserved 1
                .u8(0).u16(0) // bufferSizeDB (24 bits)
                .u32(128_000).u32(128_000) // max, average bitrate
                .raw(decoderSpecificInfo).bytes());
        byte[] slConfig = descriptor(0x06, new byte[] {0x02}); // predefined: MP4
        byte[] es = descriptor(0x03, new Fields().u16(1).u8(0).raw(decoderConfig).raw(slConfig).bytes());
        return fullBox("esds", 0, 0, es);
    }

    private static byte[] descriptor(int tag, byte[] body) {
        if (body.length > 127) {
            throw new IllegalStateException("descriptor too long for a one-byte size");
        }
        return new Fields().u8(tag).u8(body.length).raw(body).bytes();
    }

    private static byte[] box(String type, byte[]... parts) {
        byte[] body = concat(parts);
        return new Fields().u32(8L + body.length).fourcc(type).raw(body).bytes();
    }

    private static byte[] fullBox(String type, int version, int flags, byte[]... parts) {
        return box(type, new Fields().u8(version).u8(flags >>> 16).u16(flags & 0xFFFF).raw(concat(parts)).bytes());
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** Big-endian field writer; every box is small, so byte arrays are fine. */
    private static final class Fields {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Fields u8(int value) {
            out.write(value & 0xFF);
            return this;
        }

        Fields u16(int value) {
            return u8(value >>> 8).u8(value);
        }

        Fields u32(long value) {
            if (value < 0 || value > UINT32_MAX) {
                throw new IllegalStateException("does not fit in 32 bits: " + value);
            }
            return u16((int) (value >>> 16)).u16((int) value);
        }

        Fields u64(long value) {
            return u32(value >>> 32).u32(value & UINT32_MAX);
        }

        Fields fourcc(String type) {
            return raw(type.getBytes(StandardCharsets.US_ASCII));
        }

        Fields ascii(String text) {
            return raw(text.getBytes(StandardCharsets.US_ASCII));
        }

        Fields zeros(int count) {
            return raw(new byte[count]);
        }

        /** The identity transform (16.16 a,b,u / c,d,v / x,y as 2.30 w). */
        Fields matrix() {
            return u32(0x0001_0000).u32(0).u32(0)
                    .u32(0).u32(0x0001_0000).u32(0)
                    .u32(0).u32(0).u32(0x4000_0000);
        }

        Fields raw(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** Just enough H.264 (ITU-T H.264 7.3.2) to write a baseline SPS/PPS that says the right size. */
    private static final class H264 {

        static byte[] sps(int width, int height) {
            int widthMbs = (width + 15) / 16;
            int heightMbs = (height + 15) / 16;
            // Level 4.0 covers 1080p; anything larger claims 5.1. Nobody decodes these frames anyway.
            int level = widthMbs * heightMbs <= 8192 ? 40 : 51;
            Bits bits = new Bits();
            bits.u(8, 66).u(8, 0xC0).u(8, level) // baseline, constraint_set0+1
                    .ue(0) // seq_parameter_set_id
                    .ue(0) // log2_max_frame_num_minus4
                    .ue(2) // pic_order_cnt_type
                    .ue(1) // max_num_ref_frames
                    .u(1, 0) // gaps_in_frame_num_value_allowed_flag
                    .ue(widthMbs - 1).ue(heightMbs - 1)
                    .u(1, 1) // frame_mbs_only_flag
                    .u(1, 1); // direct_8x8_inference_flag
            int cropRight = (widthMbs * 16 - width) / 2; // 4:2:0 crops in units of 2 pixels
            int cropBottom = (heightMbs * 16 - height) / 2;
            if (cropRight > 0 || cropBottom > 0) {
                bits.u(1, 1).ue(0).ue(cropRight).ue(0).ue(cropBottom);
            } else {
                bits.u(1, 0);
            }
            bits.u(1, 0); // vui_parameters_present_flag
            return nal(0x67, bits.trailing());
        }

        static byte[] pps() {
            Bits bits = new Bits()
                    .ue(0).ue(0) // pic_parameter_set_id, seq_parameter_set_id
                    .u(1, 0).u(1, 0) // entropy_coding_mode (CAVLC), bottom_field_pic_order
                    .ue(0) // num_slice_groups_minus1
                    .ue(0).ue(0) // num_ref_idx_l0/l1_default_active_minus1
                    .u(1, 0).u(2, 0) // weighted_pred, weighted_bipred_idc
                    .se(0).se(0).se(0) // pic_init_qp/qs_minus26, chroma_qp_index_offset
                    .u(1, 1).u(1, 0).u(1, 0); // deblocking control, constrained intra, redundant_pic_cnt
            return nal(0x68, bits.trailing());
        }

        /** NAL header + RBSP with emulation prevention bytes (7.4.1). */
        private static byte[] nal(int header, byte[] rbsp) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(header);
            int zeros = 0;
            for (byte b : rbsp) {
                if (zeros == 2 && (b & 0xFF) <= 3) {
                    out.write(3);
                    zeros = 0;
                }
                out.write(b);
                zeros = b == 0 ? zeros + 1 : 0;
            }
            return out.toByteArray();
        }
    }

    /** MSB-first bit writer with Exp-Golomb codes (H.264 9.1). */
    private static final class Bits {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private int current;
        private int used;

        Bits u(int count, int value) {
            for (int i = count - 1; i >= 0; i--) {
                current = (current << 1) | ((value >>> i) & 1);
                if (++used == 8) {
                    out.write(current);
                    current = 0;
                    used = 0;
                }
            }
            return this;
        }

        Bits ue(int value) {
            int codeNum = value + 1;
            int length = 32 - Integer.numberOfLeadingZeros(codeNum);
            return u(length - 1, 0).u(length, codeNum);
        }

        Bits se(int value) {
            return ue(value <= 0 ? -2 * value : 2 * value - 1);
        }

        /** rbsp_trailing_bits: a stop bit, then zeros to the byte boundary. */
        byte[] trailing() {
            u(1, 1);
            while (used != 0) {
                u(1, 0);
            }
            return out.toByteArray();
        }
    }
}
