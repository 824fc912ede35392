"""Plain `nn.Module` networks. Encoders and discriminators map images to vectors, built as
`Net(image_shape, out_features, num_classes)`; decoders and generators map vectors to images, built as
`Net(image_shape, latent_dim, num_classes)`. All take `forward(x, labels=None)`. The VQ-VAE's networks are the
exception: its encoder and decoder map images to grids of code vectors and back (`Net(image_shape, code_dim)`),
and its prior maps a grid of codes to the logits of each next code (`CodeTransformer(num_codes, length)`)."""

from zoo.nets.code_prior import CodeTransformer
from zoo.nets.dcgan import ConvDecoder, ConvEncoder
from zoo.nets.infogan import InfoGANDiscriminator, InfoGANGenerator
from zoo.nets.mlp import MLPDecoder, MLPEncoder
from zoo.nets.projection import ProjectionDiscriminator
from zoo.nets.resnet import ResNetDiscriminator, ResNetGenerator
from zoo.nets.vqvae import VQDecoder, VQEncoder

__all__ = ["CodeTransformer", "ConvDecoder", "ConvEncoder", "InfoGANDiscriminator", "InfoGANGenerator",
           "MLPDecoder", "MLPEncoder", "ProjectionDiscriminator",
           "ResNetDiscriminator", "ResNetGenerator", "VQDecoder", "VQEncoder"]
