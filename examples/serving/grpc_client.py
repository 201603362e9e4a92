"""Calls a TF Serving gRPC endpoint serving a keras_mtl SavedModel.

    pip install tensorflow-serving-api grpcio
    python examples/serving/grpc_client.py localhost:8500 "show me flights to boston"
"""

import sys

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def main(address, texts):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(address))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "atis"
    request.model_spec.signature_name = "serving_default"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))
    response = stub.Predict(request, timeout=10.0)
    intents = tf.make_ndarray(response.outputs["intent_label"])
    slots = tf.make_ndarray(response.outputs["slots_labels"])
    words = tf.make_ndarray(response.outputs["num_words"])
    for text, intent, tags, n in zip(texts, intents, slots, words):
        print(text, "->", intent.decode(), [t.decode() for t in tags[:n]])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
