package io.conv4j.cli;

import io.conv4j.DType;
import io.conv4j.Tensor;

/** Tensors to and from the command line's files, in the files' dtype (float32 or float64). */
final class TensorFiles {
    private TensorFiles() {}

    /** A new tensor of the file's dtype and shape holding its data (null for a null file). */
    static Tensor read(FloatFile f) throws UsageException {
        if (f == null) return null;
        return f.dtype == DType.FLOAT64 ? Tensor.fromArray(f.readDoubles(), f.shape) : Tensor.fromArray(f.read(), f.shape);
    }

    /** What the output file holds: the tensor's elements, row-major, in its dtype (raw or .npy by name). */
    static OutputFiles.Content content(String file, Tensor t) {
        return t.dtype() == DType.FLOAT64 ? FloatFile.content(file, t.toDoubleArray(), t.shape())
                : FloatFile.content(file, t.toArray(), t.shape());
    }

    /** "N float32 values" / "N float64 values" for the commands' reports. */
    static String count(Tensor t) {
        return t.shape().numElements() + (t.dtype() == DType.FLOAT32 ? " floats" : " float64 values");
    }
}
