"""Plain `nn.Module` networks. Encoders map images to vectors, decoders map vectors to images."""

from zoo.nets.dcgan import ConvDecoder, ConvEncoder
from zoo.nets.mlp import MLPDecoder, MLPEncoder

__all__ = ["ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder"]
