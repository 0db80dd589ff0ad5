package io.dubhub.media;

import io.dubhub.job.JobRejectedException;
import io.dubhub.job.Stage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Named;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.tika.Tika;
import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MediaTypeRegistry;
import org.apache.tika.mime.MimeTypes;
import org.mp4parser.Box;
import org.mp4parser.Container;
import org.mp4parser.IsoFile;
import org.mp4parser.ParsableBox;
import org.mp4parser.PropertyBoxParserImpl;
import org.mp4parser.boxes.iso14496.part12.HandlerBox;
import org.mp4parser.boxes.iso14496.part12.MediaBox;
import org.mp4parser.boxes.iso14496.part12.MediaInformationBox;
import org.mp4parser.boxes.iso14496.part12.MovieBox;
import org.mp4parser.boxes.iso14496.part12.MovieExtendsBox;
import org.mp4parser.boxes.iso14496.part12.MovieExtendsHeaderBox;
import org.mp4parser.boxes.iso14496.part12.MovieHeaderBox;
import org.mp4parser.boxes.iso14496.part12.SampleDescriptionBox;
import org.mp4parser.boxes.iso14496.part12.SampleTableBox;
import org.mp4parser.boxes.iso14496.part12.TrackBox;
import org.mp4parser.boxes.iso14496.part12.TrackHeaderBox;
import org.mp4parser.boxes.sampleentry.AbstractSampleEntry;
import org.mp4parser.boxes.sampleentry.VisualSampleEntry;
import org.mp4parser.support.Matrix;

/**
 * Works out what a dropped file really is, from its bytes and never from its name: people rename
 * files, and cameras and download tools name them wrongly. Tika's magic bytes say which family it
 * is; MP4/MOV, WAV and MP3 are then read for duration, size and codecs, reading only headers so a
 * 50 GiB master costs the same as a 5 MB clip.
 *
 * <p>Anything we cannot accept is a {@link JobRejectedException} at {@link Stage#PROBE} whose
 * message an operator can act on without a hex editor.
 */
@ApplicationScoped
@Named("mediaProbe")
public class MediaProbe {

    /** Tika's magic needs at most this much (MimeTypes.getMinLength()); so do our header parsers. */
    private static final int HEAD_BYTES = 64 * 1024;
    private static final String OCTET_STREAM = "application/octet-stream";

    /** Types Tika puts under application/ that are still audio/video containers. */
    private static final Set<String> MEDIA_APPLICATION_TYPES = Set.of(
            "application/x-matroska", "application/ogg", "application/mp4", "application/quicktime");

    /** Everything Tika may call an ISO base media file (it says video/quicktime for plain "ftyp"). */
    private static final Set<String> ISO_BMFF_TYPES = Set.of(
            "video/quicktime", "video/mp4", "video/x-m4v", "audio/mp4", "video/3gpp", "video/3gpp2",
            "application/mp4", "application/quicktime");

    private static final Map<String, String> CONTAINER_NAMES = Map.ofEntries(
            Map.entry("video/webm", "WEBM"),
            Map.entry("video/x-matroska", "MKV"),
            Map.entry("audio/x-matroska", "MKA"),
            Map.entry("application/x-matroska", "MKV"),
            Map.entry("video/x-msvideo", "AVI"),
            Map.entry("video/x-flv", "FLV"),
            Map.entry("video/mp2t", "MPEG-TS"),
            Map.entry("video/mpeg", "MPEG-PS"),
            Map.entry("video/x-ms-asf", "ASF"),
            Map.entry("video/x-ms-wmv", "WMV"),
            Map.entry("audio/x-ms-wma", "WMA"),
            Map.entry("application/ogg", "OGG"),
            Map.entry("audio/ogg", "OGG"),
            Map.entry("video/ogg", "OGG"),
            Map.entry("audio/x-flac", "FLAC"),
            Map.entry("audio/x-aiff", "AIFF"),
            Map.entry("audio/vnd.wave", "WAV"),
            Map.entry("audio/mpeg", "MP3"));

    private final Tika tika = new Tika();
    private final MediaTypeRegistry registry = MimeTypes.getDefaultMimeTypes().getMediaTypeRegistry();

    public MediaInfo probe(Path file) {
        if (Files.isDirectory(file)) {
            throw rejected("cannot read the file: it is a directory");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                throw rejected("the file is empty (0 bytes)");
            }
            byte[] head = Bytes.read(channel, 0, (int) Math.min(size, HEAD_BYTES)).array();
            // detect(byte[]) looks at the bytes only; detect(Path) would let the file name win.
            String mimeType = tika.detect(head);
            if (!isMedia(mimeType)) {
                throw rejected(notMedia(file, mimeType));
            }
            return probeContent(channel, size, head, mimeType);
        } catch (IOException e) {
            throw rejected("cannot read the file: " + reason(e));
        }
    }

    private MediaInfo probeContent(FileChannel channel, long size, byte[] head, String mimeType)
            throws IOException {
        if (ISO_BMFF_TYPES.contains(mimeType)) {
            return IsoBmff.probe(channel, size, head);
        }
        if ("audio/vnd.wave".equals(mimeType)) {
            return Wav.probe(channel, size, mimeType);
        }
        if ("audio/mpeg".equals(mimeType)) {
            return Mp3.probe(channel, size, mimeType);
        }
        String refined = refineMatroska(mimeType, head);
        return new MediaInfo(refined, containerName(refined), null, null, null, null, null, size);
    }

    private static boolean isMedia(String mimeType) {
        return mimeType.startsWith("video/") || mimeType.startsWith("audio/")
                || MEDIA_APPLICATION_TYPES.contains(mimeType);
    }

    /** Says what the content is, and calls out a file name that claims otherwise. */
    private String notMedia(Path file, String contentType) {
        String content = OCTET_STREAM.equals(contentType)
                ? "unrecognised binary data (" + OCTET_STREAM + ")"
                : contentType;
        String extension = extension(file);
        if (extension != null && nameLies(file, contentType)) {
            return "not a video or audio file: named ." + extension + " but its content is " + content;
        }
        return "not a video or audio file: its content looks like " + content;
    }

    private boolean nameLies(Path file, String contentType) {
        MediaType byName = MediaType.parse(tika.detect(file.getFileName().toString()));
        MediaType byContent = MediaType.parse(contentType);
        if (byName == null || byContent == null || OCTET_STREAM.equals(byName.toString())) {
            return false;
        }
        // notes.md is text/x-web-markdown by name and text/plain by content: that is not a lie.
        return !registry.isInstanceOf(byName, byContent) && !registry.isInstanceOf(byContent, byName);
    }

    private static String extension(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && dot < name.length() - 1 ? name.substring(dot + 1) : null;
    }

    /** tika-core only knows the EBML magic; the DocType near the start says webm or matroska. */
    private static String refineMatroska(String mimeType, byte[] head) {
        if (!"application/x-matroska".equals(mimeType)) {
            return mimeType;
        }
        String start = new String(head, 0, Math.min(head.length, 64), StandardCharsets.ISO_8859_1);
        if (start.contains("webm")) {
            return "video/webm";
        }
        return start.contains("matroska") ? "video/x-matroska" : mimeType;
    }

    private static String containerName(String mimeType) {
        String known = CONTAINER_NAMES.get(mimeType);
        if (known != null) {
            return known;
        }
        String subtype = mimeType.substring(mimeType.indexOf('/') + 1);
        return subtype.replaceFirst("^(x-|vnd\\.)", "").toUpperCase(Locale.ROOT);
    }

    private static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "it does not exist (moved or deleted?)";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static JobRejectedException rejected(String reason) {
        return new JobRejectedException(Stage.PROBE, reason);
    }

    // ------------------------------------------------------------------ ISO base media (MP4, MOV, ...)

    /**
     * MP4, MOV, M4V, M4A, 3GP. We walk the top-level boxes ourselves and hand only the moov box to
     * mp4parser: its IsoFile copies every mdat it meets into a temp file (MediaDataBox in 1.9.x),
     * and a box with a corrupt size makes it allocate that much heap.
     */
    private static final class IsoBmff {

        private static final String NO_MOOV = "no 'moov' box";
        /** A 10-hour movie's moov is tens of MB; anything near this is a corrupt size field. */
        private static final long MAX_MOOV_BYTES = 256L * 1024 * 1024;
        private static final int MAX_TOP_LEVEL_BOXES = 1_000_000;
        private static final long UINT32_UNKNOWN = 0xFFFF_FFFFL;

        static MediaInfo probe(FileChannel channel, long size, byte[] head) throws IOException {
            MovieBox moov = parse(readMoov(channel, size));
            try {
                return describe(moov, brandType(head), size);
            } catch (RuntimeException e) {
                // mp4parser parses box fields lazily, so a bad field only surfaces here.
                throw damaged("its 'moov' box cannot be parsed: " + why(e));
            }
        }

        /** Checks every top-level box fits in the file (a copy in progress fails here), returns the moov bytes. */
        private static ByteBuffer readMoov(FileChannel channel, long size) throws IOException {
            long position = 0;
            long moovAt = -1;
            long moovSize = 0;
            for (int boxes = 0; size - position >= 8; boxes++) {
                if (boxes == MAX_TOP_LEVEL_BOXES) {
                    throw damaged("more than " + MAX_TOP_LEVEL_BOXES + " top-level boxes");
                }
                ByteBuffer header = Bytes.read(channel, position, 16);
                String type = Bytes.fourcc(header, 4);
                long boxSize = boxSize(header, size - position);
                if (position + boxSize > size) {
                    throw damaged("its '" + type + "' box is cut short: the file ends "
                            + MediaInfo.formatSize(position + boxSize - size) + " early");
                }
                if ("moov".equals(type) && moovAt < 0) {
                    moovAt = position;
                    moovSize = boxSize;
                }
                position += boxSize;
            }
            if (moovAt < 0) {
                throw damaged(NO_MOOV);
            }
            if (moovSize > MAX_MOOV_BYTES) {
                throw damaged("its 'moov' box claims an implausible " + MediaInfo.formatSize(moovSize));
            }
            return Bytes.read(channel, moovAt, (int) moovSize);
        }

        /** Size of the box whose header is in {@code header}: 32-bit, 64-bit largesize, or 0 = to the end. */
        private static long boxSize(ByteBuffer header, long remaining) {
            long size = Bytes.uint32(header, 0);
            int headerSize = 8;
            if (size == 1) {
                if (header.limit() < 16) {
                    throw damaged("a box header is cut short");
                }
                size = header.getLong(8);
                headerSize = 16;
            } else if (size == 0) {
                size = remaining;
            }
            if (size < headerSize) {
                throw damaged("a '" + Bytes.fourcc(header, 4) + "' box has an impossible size (" + size + ")");
            }
            return size;
        }

        private static MovieBox parse(ByteBuffer moovBytes) {
            BufferChannel channel = new BufferChannel(moovBytes);
            MovieBox moov;
            try (IsoFile iso = new IsoFile(channel, new BoundedBoxParser(channel))) {
                moov = iso.getMovieBox();
            } catch (IOException | RuntimeException e) {
                throw damaged("its 'moov' box cannot be parsed: " + why(e));
            }
            if (moov == null) {
                throw damaged(NO_MOOV);
            }
            return moov;
        }

        private static MediaInfo describe(MovieBox moov, String brandType, long size) {
            Track video = null;
            Track audio = null;
            for (TrackBox trak : moov.getBoxes(TrackBox.class)) {
                Track track = Track.of(trak);
                if (track != null && video == null && "vide".equals(track.handler)) {
                    video = track;
                } else if (track != null && audio == null && "soun".equals(track.handler)) {
                    audio = track;
                }
            }
            String mimeType = video == null && audio != null ? audioOnlyType(brandType) : brandType;
            return new MediaInfo(mimeType, containerFor(brandType),
                    video == null ? null : video.codec, audio == null ? null : audio.codec,
                    duration(moov), video == null ? null : video.width, video == null ? null : video.height,
                    size);
        }

        /** mvhd says how long the movie is; fragmented files leave it 0 and say it in mvex/mehd. */
        private static Duration duration(MovieBox moov) {
            MovieHeaderBox mvhd = moov.getMovieHeaderBox();
            if (mvhd == null || mvhd.getTimescale() <= 0) {
                return null;
            }
            long units = mvhd.getDuration();
            if (units == 0) {
                MovieExtendsBox mvex = first(moov, MovieExtendsBox.class);
                MovieExtendsHeaderBox mehd = mvex == null ? null : first(mvex, MovieExtendsHeaderBox.class);
                units = mehd == null ? 0 : mehd.getFragmentDuration();
            }
            // All ones is the spec's "unknown" for both the 32-bit and 64-bit fields.
            if (units <= 0 || units == UINT32_UNKNOWN) {
                return null;
            }
            return Bytes.duration(units, mvhd.getTimescale());
        }

        /** Tika's magic only knows some brands; the ftyp box says which member of the family this is. */
        private static String brandType(byte[] head) {
            if (head.length < 12 || !"ftyp".equals(new String(head, 4, 4, StandardCharsets.ISO_8859_1))) {
                return "video/quicktime"; // pre-ftyp QuickTime starts straight with moov/mdat/wide
            }
            String major = new String(head, 8, 4, StandardCharsets.ISO_8859_1);
            if (major.equals("qt  ")) {
                return "video/quicktime";
            }
            if (major.startsWith("M4A") || major.startsWith("M4B") || major.startsWith("F4A")
                    || major.startsWith("F4B")) {
                return "audio/mp4";
            }
            if (major.startsWith("M4V")) {
                return "video/x-m4v";
            }
            if (major.startsWith("3g2")) {
                return "video/3gpp2";
            }
            if (major.startsWith("3g")) {
                return "video/3gpp";
            }
            return "video/mp4";
        }

        /** An isom file with only a sound track is audio, whatever Tika guessed from the brand. */
        private static String audioOnlyType(String brandType) {
            return switch (brandType) {
                case "video/3gpp" -> "audio/3gpp";
                case "video/3gpp2" -> "audio/3gpp2";
                default -> "audio/mp4";
            };
        }

        private static String containerFor(String brandType) {
            return switch (brandType) {
                case "video/quicktime" -> "MOV";
                case "audio/mp4" -> "M4A";
                case "video/x-m4v" -> "M4V";
                case "video/3gpp" -> "3GP";
                case "video/3gpp2" -> "3G2";
                default -> "MP4";
            };
        }

        private static String why(Exception e) {
            return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        }

        private static JobRejectedException damaged(String detail) {
            return rejected("the MP4 file is damaged or incomplete (" + detail + "): was it still being copied?");
        }

        static <T extends Box> T first(Container container, Class<T> type) {
            List<T> boxes = container.getBoxes(type);
            return boxes.isEmpty() ? null : boxes.get(0);
        }
    }

    /** The handler, codec and display size of one trak; null when the trak lacks the boxes we need. */
    private record Track(String handler, String codec, Integer width, Integer height) {

        static Track of(TrackBox trak) {
            MediaBox mdia = IsoBmff.first(trak, MediaBox.class);
            HandlerBox hdlr = mdia == null ? null : IsoBmff.first(mdia, HandlerBox.class);
            AbstractSampleEntry entry = sampleEntry(mdia);
            if (hdlr == null || entry == null) {
                return null;
            }
            if (!"vide".equals(hdlr.getHandlerType())) {
                return new Track(hdlr.getHandlerType(), codecName(entry.getType()), null, null);
            }
            int[] size = displaySize(IsoBmff.first(trak, TrackHeaderBox.class), entry);
            return new Track("vide", codecName(entry.getType()),
                    size == null ? null : size[0], size == null ? null : size[1]);
        }

        private static AbstractSampleEntry sampleEntry(MediaBox mdia) {
            MediaInformationBox minf = mdia == null ? null : IsoBmff.first(mdia, MediaInformationBox.class);
            SampleTableBox stbl = minf == null ? null : IsoBmff.first(minf, SampleTableBox.class);
            SampleDescriptionBox stsd = stbl == null ? null : IsoBmff.first(stbl, SampleDescriptionBox.class);
            return stsd == null ? null : IsoBmff.first(stsd, AbstractSampleEntry.class);
        }

        /**
         * tkhd holds the display size (after pixel aspect ratio); the sample entry the coded size,
         * used when tkhd says 0. Phones record portrait video as landscape plus a 90° matrix, and
         * providers care about what the viewer sees, so the rotation swaps them.
         */
        private static int[] displaySize(TrackHeaderBox tkhd, AbstractSampleEntry entry) {
            int width = 0;
            int height = 0;
            if (tkhd != null && tkhd.getWidth() > 0 && tkhd.getHeight() > 0) {
                width = (int) Math.round(tkhd.getWidth());
                height = (int) Math.round(tkhd.getHeight());
            } else if (entry instanceof VisualSampleEntry visual) {
                width = visual.getWidth();
                height = visual.getHeight();
            }
            if (width <= 0 || height <= 0) {
                return null;
            }
            boolean rotated = tkhd != null
                    && (Matrix.ROTATE_90.equals(tkhd.getMatrix()) || Matrix.ROTATE_270.equals(tkhd.getMatrix()));
            return rotated ? new int[] {height, width} : new int[] {width, height};
        }

        /** Names providers and ffprobe use; unknown (and encrypted 'encv'/'enca') entries keep their 4cc. */
        private static String codecName(String fourcc) {
            return switch (fourcc) {
                case "avc1", "avc3" -> "h264";
                case "hvc1", "hev1" -> "h265";
                case "mp4a" -> "aac"; // mp4a can also carry MP3 (esds object type 0x6B): rare enough to ignore
                default -> fourcc.trim();
            };
        }
    }

    /** Feeds mp4parser the moov bytes we read, and lets {@link BoundedBoxParser} peek at what comes next. */
    private static final class BufferChannel implements ReadableByteChannel {
        private final ByteBuffer source;

        BufferChannel(ByteBuffer source) {
            this.source = source;
        }

        @Override
        public int read(ByteBuffer target) {
            if (!source.hasRemaining()) {
                return -1;
            }
            int count = Math.min(source.remaining(), target.remaining());
            target.put(source.slice().limit(count));
            source.position(source.position() + count);
            return count;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }

        /** Refuses a box that claims more bytes than the moov has left, before mp4parser allocates them. */
        void checkNextBoxFits() throws IOException {
            int remaining = source.remaining();
            if (remaining < 8) {
                return; // mp4parser reports the end of the data (EOFException) itself
            }
            int at = source.position();
            long size = Integer.toUnsignedLong(source.getInt(at));
            if (size == 1 && remaining >= 16) {
                size = source.getLong(at + 8);
            }
            if (size < 0 || size > remaining) {
                String type = new String(new byte[] {source.get(at + 4), source.get(at + 5), source.get(at + 6),
                        source.get(at + 7)}, StandardCharsets.ISO_8859_1);
                // Not an EOFException: mp4parser takes that for a clean end of the top level and stops silently.
                throw new IOException("its '" + type + "' box claims " + size + " bytes but only "
                        + remaining + " are left");
            }
        }
    }

    /**
     * mp4parser hands each box its parser's {@code this} for the children, so the bound must live in
     * a subclass, not a wrapper, to apply at every depth. Without it a corrupt size is not even an
     * error: mp4parser allocates the claimed bytes, logs "might have been truncated" and carries on.
     */
    private static final class BoundedBoxParser extends PropertyBoxParserImpl {
        /**
         * mp4parser's default constructor reads its box table with
         * ClassLoader.getSystemResourceAsStream, which finds nothing in a packaged Quarkus app
         * (the system class path holds only quarkus-run.jar): load it through our class loader.
         */
        private static final java.util.Properties BOX_TYPES = loadBoxTypes();

        private final BufferChannel channel;

        BoundedBoxParser(BufferChannel channel) {
            super(BOX_TYPES);
            this.channel = channel;
        }

        private static java.util.Properties loadBoxTypes() {
            java.util.Properties types = new java.util.Properties();
            try (var in = PropertyBoxParserImpl.class.getClassLoader().getResourceAsStream("isoparser2-default.properties")) {
                if (in == null) {
                    throw new IllegalStateException("isoparser2-default.properties is missing from the mp4parser jar");
                }
                types.load(in);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return types;
        }

        @Override
        public ParsableBox parseBox(ReadableByteChannel source, String parentType) throws IOException {
            // Boxes that re-parse children from their own content use another channel, already bounded.
            if (source == channel) {
                channel.checkNextBoxFits();
            }
            return super.parseBox(source, parentType);
        }
    }

    // ------------------------------------------------------------------ WAV

    /** RIFF/WAVE: the fmt chunk has the byte rate, the data chunk the length; duration = data / rate. */
    private static final class Wav {

        private static final int MAX_CHUNKS = 1000;

        static MediaInfo probe(FileChannel channel, long size, String mimeType) throws IOException {
            ByteBuffer fmt = null;
            long position = 12; // "RIFF" size "WAVE"
            for (int chunks = 0; chunks < MAX_CHUNKS && size - position >= 8; chunks++) {
                ByteBuffer header = Bytes.read(channel, position, 8).order(ByteOrder.LITTLE_ENDIAN);
                String id = Bytes.fourcc(header, 0);
                long chunkSize = Integer.toUnsignedLong(header.getInt(4));
                if ("fmt ".equals(id)) {
                    fmt = Bytes.read(channel, position + 8, (int) Math.min(chunkSize, 40))
                            .order(ByteOrder.LITTLE_ENDIAN);
                } else if ("data".equals(id)) {
                    // Streaming writers leave 0 or 0xFFFFFFFF here, and a copy in progress is short:
                    // either way the bytes actually present are what will be dubbed.
                    long present = size - position - 8;
                    long dataSize = chunkSize == 0 || chunkSize > present ? present : chunkSize;
                    return info(mimeType, fmt, dataSize, size);
                }
                position += 8 + chunkSize + (chunkSize & 1); // chunks are padded to an even size
            }
            return info(mimeType, fmt, -1, size);
        }

        private static MediaInfo info(String mimeType, ByteBuffer fmt, long dataSize, long size) {
            boolean hasFmt = fmt != null && fmt.limit() >= 16;
            long byteRate = hasFmt ? Integer.toUnsignedLong(fmt.getInt(8)) : 0;
            Duration duration = dataSize >= 0 && byteRate > 0 ? Bytes.duration(dataSize, byteRate) : null;
            String codec = hasFmt ? codec(fmt) : null;
            return new MediaInfo(mimeType, "WAV", null, codec, duration, null, null, size);
        }

        /** ffmpeg's names, which operators know from ffprobe. */
        private static String codec(ByteBuffer fmt) {
            int format = Short.toUnsignedInt(fmt.getShort(0));
            int bits = Short.toUnsignedInt(fmt.getShort(14));
            if (format == 0xFFFE && fmt.limit() >= 26) {
                format = Short.toUnsignedInt(fmt.getShort(24)); // WAVE_FORMAT_EXTENSIBLE: subformat GUID
            }
            return switch (format) {
                case 1 -> bits == 8 ? "pcm_u8" : "pcm_s" + bits + "le";
                case 3 -> "pcm_f" + bits + "le";
                case 6 -> "pcm_alaw";
                case 7 -> "pcm_mulaw";
                default -> String.format(Locale.ROOT, "wav_0x%04x", format);
            };
        }
    }

    // ------------------------------------------------------------------ MP3

    /**
     * MPEG audio. A Xing/Info or VBRI header gives the exact frame count; without one the duration
     * is an ESTIMATE from the first frame's bitrate and the file size, exact only for CBR files (a
     * VBR file without a Xing header can be off by a lot). Good enough for spend checks, not billing.
     */
    private static final class Mp3 {

        private static final int[][] BITRATES_KBPS = {
            {32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448}, // MPEG-1 layer I
            {32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384}, // MPEG-1 layer II
            {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}, // MPEG-1 layer III
            {32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256}, // MPEG-2/2.5 layer I
            {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}, // MPEG-2/2.5 layer II and III
        };
        private static final int[][] SAMPLE_RATES = {
            {11025, 12000, 8000}, {0, 0, 0}, {22050, 24000, 16000}, {44100, 48000, 32000}};
        private static final int ID3V1_BYTES = 128;

        static MediaInfo probe(FileChannel channel, long size, String mimeType) throws IOException {
            long audioStart = skipId3v2(channel, size);
            ByteBuffer window = Bytes.read(channel, audioStart, HEAD_BYTES);
            Frame frame = Frame.find(window);
            if (frame == null) {
                return new MediaInfo(mimeType, "MP3", null, null, null, null, null, size);
            }
            long frames = frame.vbrFrameCount(window);
            Duration duration;
            if (frames > 0) {
                duration = Bytes.duration(frames * frame.samplesPerFrame, frame.sampleRate);
            } else {
                long audioBytes = size - audioStart - frame.offset - id3v1Bytes(channel, size);
                duration = Bytes.duration(audioBytes * 8, frame.bitrateKbps * 1000L); // CBR estimate
            }
            return new MediaInfo(mimeType, "MP3", null, frame.codec(), duration, null, null, size);
        }

        /** ID3v2 tags (sometimes several) sit before the first frame; their size is syncsafe. */
        private static long skipId3v2(FileChannel channel, long size) throws IOException {
            long position = 0;
            while (size - position >= 10) {
                ByteBuffer tag = Bytes.read(channel, position, 10);
                if (tag.get(0) != 'I' || tag.get(1) != 'D' || tag.get(2) != '3') {
                    break;
                }
                int length = (tag.get(6) & 0x7F) << 21 | (tag.get(7) & 0x7F) << 14
                        | (tag.get(8) & 0x7F) << 7 | (tag.get(9) & 0x7F);
                boolean footer = (tag.get(5) & 0x10) != 0;
                position += 10 + length + (footer ? 10 : 0);
            }
            return position;
        }

        private static long id3v1Bytes(FileChannel channel, long size) throws IOException {
            if (size < ID3V1_BYTES) {
                return 0;
            }
            ByteBuffer tail = Bytes.read(channel, size - ID3V1_BYTES, 3);
            return tail.get(0) == 'T' && tail.get(1) == 'A' && tail.get(2) == 'G' ? ID3V1_BYTES : 0;
        }

        /** One MPEG audio frame header (ISO/IEC 11172-3 2.4.1.3) found at {@code offset} in the window. */
        private record Frame(int offset, int version, int layer, int bitrateKbps, int sampleRate,
                int samplesPerFrame, int length, boolean mono) {

            /** The first header whose successor (when inside the window) is also a header: fewer false syncs. */
            static Frame find(ByteBuffer window) {
                for (int at = 0; at + 4 <= window.limit(); at++) {
                    Frame frame = parse(window, at);
                    if (frame != null) {
                        int next = at + frame.length;
                        if (next + 4 > window.limit() || parse(window, next) != null) {
                            return frame;
                        }
                    }
                }
                return null;
            }

            private static Frame parse(ByteBuffer window, int at) {
                int header = window.getInt(at);
                if ((header >>> 21) != 0x7FF) {
                    return null;
                }
                int version = (header >>> 19) & 3; // 0 = 2.5, 2 = 2, 3 = 1
                int layer = 4 - ((header >>> 17) & 3); // 1..3; 4 = reserved
                int bitrateIndex = (header >>> 12) & 0xF;
                int rateIndex = (header >>> 10) & 3;
                if (version == 1 || layer == 4 || bitrateIndex == 0 || bitrateIndex == 15 || rateIndex == 3) {
                    return null; // reserved values, or free format, which has no usable bitrate
                }
                int table = version == 3 ? layer - 1 : (layer == 1 ? 3 : 4);
                int bitrate = BITRATES_KBPS[table][bitrateIndex - 1];
                int sampleRate = SAMPLE_RATES[version][rateIndex];
                int samples = layer == 1 ? 384 : (layer == 3 && version != 3 ? 576 : 1152);
                int padding = (header >>> 9) & 1;
                int length = layer == 1
                        ? (12 * bitrate * 1000 / sampleRate + padding) * 4
                        : samples / 8 * bitrate * 1000 / sampleRate + padding;
                boolean mono = ((header >>> 6) & 3) == 3;
                return new Frame(at, version, layer, bitrate, sampleRate, samples, length, mono);
            }

            /** Frame count from a Xing/Info header (after the side info) or a VBRI header, else 0. */
            long vbrFrameCount(ByteBuffer window) {
                int sideInfo = version == 3 ? (mono ? 17 : 32) : (mono ? 9 : 17);
                int xing = offset + 4 + sideInfo;
                if (window.limit() >= xing + 12) {
                    String tag = Bytes.fourcc(window, xing);
                    if (("Xing".equals(tag) || "Info".equals(tag)) && (window.getInt(xing + 4) & 1) != 0) {
                        return Integer.toUnsignedLong(window.getInt(xing + 8));
                    }
                }
                int vbri = offset + 4 + 32;
                if (window.limit() >= vbri + 18 && "VBRI".equals(Bytes.fourcc(window, vbri))) {
                    return Integer.toUnsignedLong(window.getInt(vbri + 14));
                }
                return 0;
            }

            String codec() {
                return "mp" + layer;
            }
        }
    }

    // ------------------------------------------------------------------ shared helpers

    private static final class Bytes {

        /** Up to {@code length} bytes from {@code position}; fewer at the end of the file. Big-endian. */
        static ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
            long available = Math.max(0, channel.size() - position);
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(length, available));
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, position + buffer.position()) < 0) {
                    break;
                }
            }
            return buffer.flip();
        }

        static long uint32(ByteBuffer buffer, int at) {
            return Integer.toUnsignedLong(buffer.getInt(at));
        }

        static String fourcc(ByteBuffer buffer, int at) {
            byte[] chars = new byte[4];
            for (int i = 0; i < 4; i++) {
                chars[i] = at + i < buffer.limit() ? buffer.get(at + i) : (byte) '?';
            }
            return new String(chars, StandardCharsets.ISO_8859_1);
        }

        /** {@code units / perSecond} seconds, to the nanosecond (the remainder is below 2^32, so x1e9 fits). */
        static Duration duration(long units, long perSecond) {
            long seconds = units / perSecond;
            long nanos = units % perSecond * 1_000_000_000L / perSecond;
            return Duration.ofSeconds(seconds, nanos);
        }
    }
}
