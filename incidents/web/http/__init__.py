"""HTTP helpers of the faces: streamed multipart bodies, forms, responses."""
