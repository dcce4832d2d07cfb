package io.conv4j.spark;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Where a row's image is and how to read it: the input column's kind (Spark image struct or
 * {@code array<float>} with a shape), the field positions, worked out once from the schema on the driver.
 * On the executors, {@link #read} turns one row into the {@code [H, W, C]} floats conv4j takes, refusing a
 * bad row with a {@link BadRowException} before any native code sees it.
 */
final class InputLayout implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One row's pixels, channels last, and its shape {@code [H, W, C]}. */
    static final class Pixels {
        final float[] values;
        final long height, width, channels;

        Pixels(float[] values, long height, long width, long channels) {
            this.values = values;
            this.height = height;
            this.width = width;
            this.channels = channels;
        }
    }

    private final String column;
    private final int columnIndex;
    private final boolean image;
    private final int origin, height, width, nChannels, mode, data; // image struct field positions
    private final int shapeIndex; // array input: the shape column, or -1 for a fixed shape
    private final int[] fixedShape;
    private final int keyIndex; // -1: name rows by the image origin (or not at all)
    private final String keyCol;

    private InputLayout(String column, int columnIndex, boolean image, StructType struct, int shapeIndex,
                        int[] fixedShape, int keyIndex, String keyCol) {
        this.column = column;
        this.columnIndex = columnIndex;
        this.image = image;
        this.origin = image ? struct.fieldIndex("origin") : -1;
        this.height = image ? struct.fieldIndex("height") : -1;
        this.width = image ? struct.fieldIndex("width") : -1;
        this.nChannels = image ? struct.fieldIndex("nChannels") : -1;
        this.mode = image ? struct.fieldIndex("mode") : -1;
        this.data = image ? struct.fieldIndex("data") : -1;
        this.shapeIndex = shapeIndex;
        this.fixedShape = fixedShape;
        this.keyIndex = keyIndex;
        this.keyCol = keyCol;
    }

    /** Checks the input column (and shape and key columns) of {@code schema}; names what is wrong. */
    static InputLayout of(StructType schema, String column, String shapeCol, int[] fixedShape, String keyCol) {
        int index = indexOf(schema, "inputCol", column);
        DataType type = schema.fields()[index].dataType();
        int keyIndex = keyCol.isEmpty() ? -1 : indexOf(schema, "rowKeyCol", keyCol);
        if (type instanceof StructType && isImage((StructType) type)) {
            if (!shapeCol.isEmpty() || fixedShape != null) {
                throw new IllegalArgumentException("inputCol " + column + " is an image struct, which carries its own shape:"
                        + " leave shapeCol and inputShape unset");
            }
            return new InputLayout(column, index, true, (StructType) type, -1, null, keyIndex, keyCol);
        }
        if (!(type instanceof ArrayType) || ((ArrayType) type).elementType() != DataTypes.FloatType) {
            throw new IllegalArgumentException("inputCol " + column + " must be an image struct (Spark's image source:"
                    + " origin, height, width, nChannels, mode, data) or array<float>, got " + type.simpleString()
                    + (type instanceof ArrayType ? " (cast it: col(\"" + column + "\").cast(\"array<float>\"))" : ""));
        }
        if (shapeCol.isEmpty() == (fixedShape == null)) {
            throw new IllegalArgumentException("array input column " + column
                    + " needs exactly one of shapeCol (each row's [H, W, C]) and inputShape (one [H, W, C] for all rows)");
        }
        int shapeIndex = -1;
        if (!shapeCol.isEmpty()) {
            shapeIndex = indexOf(schema, "shapeCol", shapeCol);
            DataType st = schema.fields()[shapeIndex].dataType();
            if (!(st instanceof ArrayType) || !isInteger(((ArrayType) st).elementType())) {
                throw new IllegalArgumentException("shapeCol " + shapeCol + " must be array<int> or array<bigint>, got "
                        + st.simpleString());
            }
        } else {
            if (fixedShape.length != 3 || Arrays.stream(fixedShape).anyMatch(d -> d <= 0)) {
                throw new IllegalArgumentException("inputShape must be [H, W, C] with positive sizes, got "
                        + Arrays.toString(fixedShape));
            }
            Math.multiplyExact(Math.multiplyExact((long) fixedShape[0], fixedShape[1]), (long) fixedShape[2]);
        }
        return new InputLayout(column, index, false, null, shapeIndex, fixedShape == null ? null : fixedShape.clone(),
                keyIndex, keyCol);
    }

    /** With a fixed shape, the first layer must take its channels: checked before the job. */
    void checkChannels(ConvLayerSpec first) {
        if (fixedShape != null && fixedShape[2] != first.inputChannels()) {
            throw new IllegalArgumentException("inputShape " + Arrays.toString(fixedShape) + " has " + fixedShape[2]
                    + " channels but the first layer's filter takes " + first.inputChannels());
        }
    }

    /** Reads one row's pixels; {@code where} names the row in errors. */
    Pixels read(Row row, RowName where, boolean rgb) {
        if (row.isNullAt(columnIndex)) throw where.bad(column + " is null");
        return image ? readImage(row.getStruct(columnIndex), where, rgb) : readArray(row, where);
    }

    /** What names a row besides its position: the key column's value or the image's origin, or null. */
    String key(Row row) {
        if (keyIndex >= 0) return keyCol + " " + (row.isNullAt(keyIndex) ? "null" : String.valueOf(row.get(keyIndex)));
        if (image && !row.isNullAt(columnIndex)) {
            Row s = row.getStruct(columnIndex);
            return s.isNullAt(origin) ? null : "origin " + s.getString(origin);
        }
        return null;
    }

    private Pixels readImage(Row img, RowName where, boolean rgb) {
        if (img.isNullAt(height) || img.isNullAt(width) || img.isNullAt(nChannels) || img.isNullAt(mode) || img.isNullAt(data)) {
            throw where.bad("image has a null field (height, width, nChannels, mode or data)");
        }
        long h = img.getInt(height), w = img.getInt(width), c = img.getInt(nChannels);
        int m = img.getInt(mode);
        if (h <= 0 || w <= 0 || c <= 0) {
            throw where.bad("not a decoded image (height " + h + ", width " + w + ", nChannels " + c
                    + "): the image source could not read the file");
        }
        // OpenCV's type code: depth + (channels - 1) * 8, and the image source makes only 8-bit (depth 0) types
        if ((c != 1 && c != 3 && c != 4) || m != (c - 1) * 8) {
            throw where.bad("unsupported image type: mode " + m + " with " + c + " channels (8-bit images with 1, 3 or 4"
                    + " channels are supported: modes 0, 16, 24)");
        }
        byte[] bytes = (byte[]) img.get(data);
        long count = Math.multiplyExact(Math.multiplyExact(h, w), c);
        if (bytes.length != count) {
            throw where.bad("image data has " + bytes.length + " bytes but height " + h + " x width " + w + " x nChannels "
                    + c + " is " + count);
        }
        float[] v = new float[bytes.length];
        int channels = (int) c;
        boolean swap = rgb && channels >= 3;
        for (int p = 0; p < v.length; p += channels) {
            for (int k = 0; k < channels; k++) {
                int src = swap && k < 3 ? 2 - k : k; // BGR(A) as stored -> RGB(A): reverse the colour channels only
                v[p + k] = bytes[p + src] & 0xFF;
            }
        }
        return new Pixels(v, h, w, c);
    }

    private Pixels readArray(Row row, RowName where) {
        long[] shape = new long[3];
        if (shapeIndex >= 0) {
            if (row.isNullAt(shapeIndex)) throw where.bad("shape is null");
            List<Object> s = row.getList(shapeIndex);
            if (s.size() != 3) throw where.bad("shape must be [H, W, C], got " + s);
            for (int i = 0; i < 3; i++) {
                Object d = s.get(i);
                if (d == null || ((Number) d).longValue() <= 0) throw where.bad("shape must be positive [H, W, C], got " + s);
                shape[i] = ((Number) d).longValue();
            }
        } else {
            for (int i = 0; i < 3; i++) shape[i] = fixedShape[i];
        }
        List<Object> values = row.getList(columnIndex);
        long count;
        try {
            count = Math.multiplyExact(Math.multiplyExact(shape[0], shape[1]), shape[2]);
        } catch (ArithmeticException e) {
            throw where.bad("shape " + Arrays.toString(shape) + " overflows");
        }
        if (values.size() != count) {
            throw where.bad(column + " has " + values.size() + " values but shape " + Arrays.toString(shape) + " needs " + count);
        }
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) {
            Object x = values.get(i);
            if (x == null) throw where.bad(column + " element " + i + " is null");
            v[i] = (Float) x;
        }
        return new Pixels(v, shape[0], shape[1], shape[2]);
    }

    private static int indexOf(StructType schema, String param, String name) {
        for (int i = 0; i < schema.fields().length; i++) {
            if (schema.fields()[i].name().equals(name)) return i;
        }
        throw new IllegalArgumentException("param " + param + ": no column \"" + name + "\" in "
                + Arrays.toString(schema.fieldNames()));
    }

    private static boolean isImage(StructType s) {
        return has(s, "origin", DataTypes.StringType) && has(s, "height", DataTypes.IntegerType)
                && has(s, "width", DataTypes.IntegerType) && has(s, "nChannels", DataTypes.IntegerType)
                && has(s, "mode", DataTypes.IntegerType) && has(s, "data", DataTypes.BinaryType);
    }

    private static boolean has(StructType s, String name, DataType type) {
        for (StructField f : s.fields()) {
            if (f.name().equals(name)) return f.dataType().equals(type);
        }
        return false;
    }

    private static boolean isInteger(DataType t) {
        return t == DataTypes.IntegerType || t == DataTypes.LongType;
    }
}
