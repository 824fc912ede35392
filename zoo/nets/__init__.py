"""Plain `nn.Module` networks. Encoders and discriminators map images to vectors, built as
`Net(image_shape, out_features, num_classes)`; decoders and generators map vectors to images, built as
`Net(image_shape, latent_dim, num_classes)`. All take `forward(x, labels=None)`."""

from zoo.nets.dcgan import ConvDecoder, ConvEncoder
from zoo.nets.mlp import MLPDecoder, MLPEncoder
from zoo.nets.projection import ProjectionDiscriminator
from zoo.nets.resnet import ResNetDiscriminator, ResNetGenerator

__all__ = ["ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder", "ProjectionDiscriminator",
           "ResNetDiscriminator", "ResNetGenerator"]
